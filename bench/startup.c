/* startup — time from exec to the first successful MCP `initialize` response over stdio.
 *
 *   startup RUNS TIMEOUT_MS -- PROGRAM [ARGS...]
 *
 * For each run: fork, exec PROGRAM with stdin/stdout on pipes (stderr to /dev/null), write one
 * `initialize` request at once (it waits in the pipe until the server reads it), and stop the clock
 * when a complete line carrying `"id":1` and `"result"` arrives on stdout. The child is then ended
 * by its PID (stdin closed, SIGTERM, SIGKILL after 2 s) and reaped before the next run.
 * With STARTUP_UNTIL_EXIT=1 the clock stops when the program closes stdout instead (to time, say,
 * `kubemcp version`: exec, dynamic loading and library constructors without the server).
 * Prints one JSON object: {"ms":[...],"failures":N,"first_error":"..."}.
 * The clock starts just before fork(), so it includes fork+exec, dynamic loading and the
 * server's own start-up: what a client that launches the server sees.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char INIT[] =
    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"2025-06-18\","
    "\"capabilities\":{},\"clientInfo\":{\"name\":\"kubemcp-bench\",\"version\":\"1\"}}}\n";

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void reap(pid_t pid) {
    double deadline = now_ms() + 2000;
    kill(pid, SIGTERM);
    for (;;) {
        int st;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid || (r < 0 && errno != EINTR)) return;
        if (now_ms() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            return;
        }
        usleep(1000);
    }
}

/* One run: returns milliseconds, or a negative value on failure (err filled). */
static int until_exit; /* STARTUP_UNTIL_EXIT=1: stop the clock at EOF on stdout instead of at the answer */

static double one_run(char **argv, int timeout_ms, char *err, size_t errlen) {
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC)) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        return -1;
    }
    double t0 = now_ms();
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(in[0], 0);
        dup2(out[1], 1);
        if (devnull >= 0) dup2(devnull, 2);
        execv(argv[0], argv);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    signal(SIGPIPE, SIG_IGN);
    ssize_t w = write(in[1], INIT, sizeof INIT - 1);
    (void)w;

    static char buf[1 << 20];
    size_t len = 0, scanned = 0;
    double result = -1;
    for (;;) {
        double left = t0 + timeout_ms - now_ms();
        if (left <= 0) {
            snprintf(err, errlen, "timeout after %d ms", timeout_ms);
            break;
        }
        struct pollfd p = {.fd = out[0], .events = POLLIN};
        int n = poll(&p, 1, (int)left + 1);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) continue;
        ssize_t r = read(out[0], buf + len, sizeof buf - 1 - len);
        if (r <= 0 && until_exit) {
            result = now_ms() - t0; /* --exit mode: the program closed stdout (exited) */
            goto done;
        }
        if (r <= 0) {
            snprintf(err, errlen, "server closed stdout before answering");
            break;
        }
        len += (size_t)r;
        if (until_exit) {
            len = scanned = 0;
            continue;
        }
        buf[len] = 0;
        char *nl;
        while ((nl = memchr(buf + scanned, '\n', len - scanned)) != NULL) {
            *nl = 0;
            char *line = buf + scanned;
            if (strstr(line, "\"id\":1") && strstr(line, "\"result\"")) {
                result = now_ms() - t0;
                goto done;
            }
            if (strstr(line, "\"id\":1") && strstr(line, "\"error\"")) {
                snprintf(err, errlen, "initialize failed: %.200s", line);
                goto done;
            }
            scanned = (size_t)(nl - buf) + 1;
        }
        if (len >= sizeof buf - 1) {
            snprintf(err, errlen, "line too long");
            break;
        }
    }
done:
    close(in[1]);
    close(out[0]);
    reap(pid);
    return result;
}

int main(int argc, char **argv) {
    if (argc < 5 || strcmp(argv[3], "--") != 0) {
        fprintf(stderr, "usage: %s RUNS TIMEOUT_MS -- PROGRAM [ARGS...]\n", argv[0]);
        return 2;
    }
    int runs = atoi(argv[1]), timeout_ms = atoi(argv[2]);
    until_exit = getenv("STARTUP_UNTIL_EXIT") && strcmp(getenv("STARTUP_UNTIL_EXIT"), "1") == 0;
    if (runs < 1 || runs > 10000 || timeout_ms < 1) return 2;
    char first_error[256] = "";
    int failures = 0;
    printf("{\"ms\":[");
    int printed = 0;
    for (int i = 0; i < runs; i++) {
        char err[256] = "";
        double ms = one_run(argv + 4, timeout_ms, err, sizeof err);
        if (ms < 0) {
            failures++;
            if (!first_error[0]) snprintf(first_error, sizeof first_error, "%s", err);
            continue;
        }
        printf("%s%.3f", printed++ ? "," : "", ms);
    }
    printf("],\"failures\":%d,\"first_error\":\"", failures);
    for (const char *c = first_error; *c; c++) {
        if (*c == '"' || *c == '\\') putchar('\\');
        if ((unsigned char)*c >= 0x20) putchar(*c);
    }
    printf("\"}\n");
    return 0;
}
