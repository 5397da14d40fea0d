/* SPDX-License-Identifier: MIT */
/*
 * replay_main.c: a main() for a libFuzzer target without libFuzzer. `make fuzz-replay` links
 * it with each fuzz_<name>.c and the project's objects, built with the normal $(CC) and
 * $(BUILD) flags, and replays tests/fuzz/regress/<name>/ and tests/fuzz/corpus/<name>/: under
 * valgrind for gcc debug builds, with ASan/UBSan for BUILD=asan. That way every crash a
 * fuzzer once found stays a test that `make test` runs, on machines without libFuzzer.
 *
 * Usage: fuzz_<name> PATH...   Each PATH is a file or a directory (its regular files, in
 * name order, dot files skipped). Each input is copied to an allocation of exactly its size,
 * as libFuzzer does, so a read past its end is an error. A target reports a failed check by
 * trapping or aborting; the name of the input being replayed is printed first. Exit status
 * 0 when every input passed, 1 when a path could not be read.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define REPLAY_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define REPLAY_SANITIZED 1
#endif
#endif
#ifdef REPLAY_SANITIZED
#include <sanitizer/common_interface_defs.h>
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *current = "(none)"; /* the input being replayed, for the crash note */

static void say_current(void)
{
    static const char pre[] = "fuzz-replay: failed on input ";
    /* write(2) only: this runs in a signal handler or a sanitizer's death callback */
    if (write(STDERR_FILENO, pre, sizeof(pre) - 1) < 0 ||
        write(STDERR_FILENO, current, strlen(current)) < 0 || write(STDERR_FILENO, "\n", 1) < 0)
        return;
}

static void on_fatal(int sig)
{
    say_current();
    signal(sig, SIG_DFL);
    raise(sig);
}

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "fuzz-replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t cap = 4096, len = 0;
    uint8_t *data = malloc(cap);
    while (data) {
        len += fread(data + len, 1, cap - len, f);
        if (len < cap)
            break;
        uint8_t *bigger = realloc(data, cap * 2);
        if (!bigger) {
            free(data);
            data = NULL;
            break;
        }
        data = bigger;
        cap *= 2;
    }
    int bad = ferror(f);
    fclose(f);
    if (!data || bad) {
        fprintf(stderr, "fuzz-replay: %s: cannot read\n", path);
        free(data);
        return -1;
    }
    /* Exactly @len bytes (at least one allocated byte for an empty input). */
    uint8_t *exact = malloc(len ? len : 1);
    if (!exact) {
        free(data);
        return -1;
    }
    memcpy(exact, data, len);
    free(data);
    current = path;
    LLVMFuzzerTestOneInput(exact, len);
    current = "(none)";
    free(exact);
    return 0;
}

static int skip_entry(const struct dirent *e)
{
    return e->d_name[0] != '.';
}

/* Replays @path (a file, or each regular file of a directory); adds to *@n; -1 on error. */
static int replay_path(const char *path, unsigned long *n)
{
    struct stat st;
    if (stat(path, &st) < 0) {
        fprintf(stderr, "fuzz-replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        if (replay_file(path) < 0)
            return -1;
        (*n)++;
        return 0;
    }
    struct dirent **names;
    int count = scandir(path, &names, skip_entry, alphasort);
    if (count < 0) {
        fprintf(stderr, "fuzz-replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    int rc = 0;
    for (int i = 0; i < count; i++) {
        char full[4096];
        int w = snprintf(full, sizeof(full), "%s/%s", path, names[i]->d_name);
        if (w < 0 || (size_t)w >= sizeof(full)) {
            fprintf(stderr, "fuzz-replay: %s/%s: path too long\n", path, names[i]->d_name);
            rc = -1;
        } else if (stat(full, &st) == 0 && S_ISREG(st.st_mode)) {
            if (replay_file(full) < 0)
                rc = -1;
            else
                (*n)++;
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv)
{
#ifdef REPLAY_SANITIZED
    /* ASan reports SEGV, BUS and FPE itself and then calls say_current() */
    static const int fatal[] = {SIGILL, SIGABRT, SIGTRAP};
    __sanitizer_set_death_callback(say_current);
#else
    static const int fatal[] = {SIGILL, SIGSEGV, SIGBUS, SIGFPE, SIGABRT, SIGTRAP};
#endif
    for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
        signal(fatal[i], on_fatal);
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE_OR_DIR...\n", argv[0]);
        return 2;
    }
    unsigned long n = 0;
    int rc = 0;
    for (int i = 1; i < argc; i++)
        if (replay_path(argv[i], &n) < 0)
            rc = 1;
    const char *name = strrchr(argv[0], '/');
    printf("%s: replayed %lu inputs\n", name ? name + 1 : argv[0], n);
    return rc;
}
