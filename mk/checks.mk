# What `make test` runs, listed (issue 8 item 5).
#   make checks       every check in CHECKS with one line on what it covers, in the order make test runs them
#   make check-list   fails when a check has no '## check-name: what it covers' line, or a line names no check
#
# The lines sit next to each check's rule in the Makefile and mk/*.mk, so the
# list is read from where the checks are defined (tools/checks.awk).

CHECK_DOC_FILES := Makefile $(sort $(wildcard mk/*.mk))

.PHONY: checks check-list
checks:
	@awk -v checks="$(CHECKS)" -f tools/checks.awk $(CHECK_DOC_FILES)

## check-list: every check of make test has its '## name:' line in the Makefile or mk/*.mk (make checks lists them)
CHECKS += check-list
check-list:
	@awk -v checks="$(CHECKS)" -v quiet=1 -f tools/checks.awk $(CHECK_DOC_FILES)

# The cmocka programs' test selection (tests/cmocka_select.h), on the fast builds.
SELECT_PROGRAMS = $(BUILD)/fast/tests/test_api $(BUILD)/fast/tests/test_invariants $(BUILD)/fast/tests/test_grow \
  $(BUILD)/fast/tests/test_regress $(BUILD)/fast/tests/test_faults $(BUILD)/fast/tests/test_regions \
  $(BUILD)/test/index-fast-plain

## check-one-test: each cmocka test program runs one test by name, a glob runs exactly what --list matches, an unknown name exits 2
CHECKS += check-one-test
.PHONY: check-one-test
check-one-test: $(SELECT_PROGRAMS)
	@for p in $(SELECT_PROGRAMS); do \
	  names=$$($$p --list) && [ -n "$$names" ] || { echo "FAIL: $$p --list"; exit 1; }; \
	  last=$$(echo "$$names" | tail -1); \
	  out=$$($$p "$$last" 2>&1) || { echo "$$out"; echo "FAIL: $$p $$last"; exit 1; }; \
	  echo "$$out" | grep -q '^\[==========\] 1 test(s) run\.' && echo "$$out" | grep -qxF "[ RUN      ] $$last" || \
	    { echo "$$out"; echo "FAIL: $$p $$last did not run that test alone"; exit 1; }; \
	  glob="*$$(echo "$$last" | rev | cut -c1-5 | rev)"; want=$$(echo "$$names" | grep -c -- "$${glob#?}$$"); \
	  got=$$($$p "$$glob" 2>&1 | sed -n 's/^\[==========\] \([0-9]*\) test(s) run\./\1/p'); \
	  [ "$$got" = "$$want" ] || { echo "FAIL: $$p '$$glob' ran $$got tests, --list names $$want"; exit 1; }; \
	  $$p no_such_test >/dev/null 2>&1; [ $$? = 2 ] || { echo "FAIL: $$p no_such_test did not exit 2"; exit 1; }; \
	  echo "$$(basename $$p): $$last alone, '$$glob' ran the $$want of $$(echo "$$names" | wc -l) that match, an unknown name refused"; \
	done
