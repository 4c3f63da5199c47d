# The checks `make test` runs, each with what it covers, read from the lines
#   ## check-name: what it covers
# in the Makefile and mk/*.mk (next to the check's rule). Run by `make checks`
# (the list) and `make check-list` (quiet): both fail when a check in CHECKS
# has no such line, or such a line names no check.
#   awk -v checks="$(CHECKS)" [-v quiet=1] -f tools/checks.awk Makefile mk/*.mk

/^## [A-Za-z0-9_.-]+: / {
    name = $2
    sub(/:$/, "", name)
    text = $0
    sub(/^## [^:]*: */, "", text)
    if (name in doc)
        problem(FILENAME ":" FNR ": a second line for " name " (the first: " where[name] ")")
    doc[name] = text
    where[name] = FILENAME ":" FNR
}

function problem(msg) {
    print "check-list: " msg > "/dev/stderr"
    bad++
}

END {
    n = split(checks, list, " ")
    for (i = 1; i <= n; i++) {
        c = list[i]
        if (c in listed)
            continue
        listed[c] = 1
        if (!(c in doc))
            problem(c " is in CHECKS but has no line '## " c ": what it covers' in the Makefile or mk/*.mk")
        else if (!quiet)
            printf "%-22s %s\n", c, doc[c]
        count++
    }
    for (c in doc)
        if (!(c in listed))
            problem(where[c] ": '## " c ":' names no check in CHECKS")
    if (bad)
        exit 1
    if (quiet)
        print "check-list: each of the " count " checks has its line"
    else
        print "\n" count " checks; make test runs them in this order, make CHECK runs one"
}
