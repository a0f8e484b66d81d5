# tests/tests.mk - owned by the tests
test: all
