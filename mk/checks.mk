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
