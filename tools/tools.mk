# tools/tools.mk - owned by the tools
