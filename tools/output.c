#include "output.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

FILE *output_open(const char *path)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        fprintf(stderr, "holeheap: cannot write %s: %s\n", path, strerror(errno));
    return f;
}

int output_close(FILE *f, const char *path)
{
    int write_error = ferror(f);
    int saved = errno;
    if (fclose(f) != 0 && !write_error) {
        write_error = 1;
        saved = errno;
    }
    if (!write_error)
        return 0;
    fprintf(stderr, "holeheap: cannot write %s: %s\n", path, strerror(saved));
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISREG(st.st_mode)) /* never a symlink or a device */
        remove(path);
    return -1;
}

void put_escaped(FILE *f, const char *s)
{
    for (; *s != '\0'; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fputc((unsigned char)*s >= 0x20 && (unsigned char)*s < 0x7f ? *s : '?', f);
        }
    }
}
