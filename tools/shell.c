/*
 * shell.c — `strata query <db>` without a query: a shell in the manner of
 * the sqlite3 shell (shell_run, declared in qout.h).
 *
 * Input is read a line at a time and collected into a statement; a
 * statement ends at a ';' outside strings, quoted names, regular
 * expressions and -- comments, or at an empty line, and at the end of the
 * input a last statement without either still runs.  A line starting with
 * '.' while no statement is pending is a dot command (.help lists them).
 * A failing statement or command does not end the shell.
 *
 * Two modes.  When stdin is a terminal: a banner, prompts ("strata> ",
 * "   ...> " while a statement is pending), and, when stdout is a terminal
 * too and TERM is not "dumb", line editing in raw mode (termios; the keys
 * are listed in .help) with a history of the last HISTORY_MAX entries kept
 * in ~/.strata_history (loaded at start, appended as entries are made,
 * trimmed at exit; errors writing it are ignored).  The terminal is in raw
 * mode only while a line is being edited, so a query runs (and can be
 * interrupted) with the terminal as it was.  Otherwise: no prompt, no
 * editing, no history — how scripts and tests drive it.
 *
 * Exit status: 1 when reading stdin failed; when stdin is not a terminal,
 * also 1 when any statement or command failed, so that scripts notice;
 * else 0.
 */
#include "tools/cli.h"
#include "tools/qout.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define HISTORY_MAX 1000
#define HISTORY_FILE ".strata_history"
#define PROMPT "strata> "
#define PROMPT_MORE "   ...> "

typedef struct history {
    char **e; /* oldest first */
    size_t n;
    char *path;     /* NULL: kept in memory only */
    size_t in_file; /* lines the file holds (as far as we know) */
} history;

typedef struct strbuf {
    char *p;
    size_t len, cap;
} strbuf;

typedef struct shell {
    strata_db *db;
    qout_opts *o;
    char *plot; /* owns the file name .plot set */
    int timer, explain;
    int interactive; /* stdin is a terminal: prompts */
    int editing;     /* ... and stdout too: raw-mode line editing, history */
    int failed;      /* a statement or command failed */
    struct termios cooked;
    history h;
    strbuf stmt;    /* the statement being collected */
    strbuf entered; /* its lines, '\n'-separated, for the history */
} shell;

static int sb_add(strbuf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->len + n + 1) * 2;
        char *p = realloc(b->p, cap);
        if (!p)
            return -1;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

static void sb_clear(strbuf *b)
{
    b->len = 0;
    if (b->p)
        b->p[0] = '\0';
}

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* ---- statements --------------------------------------------------------------- */

/* Past whitespace and -- comments. */
static const char *skip_blank(const char *s)
{
    for (;;) {
        while (isspace((unsigned char)*s))
            s++;
        if (s[0] != '-' || s[1] != '-')
            return s;
        while (*s && *s != '\n')
            s++;
    }
}

/* The offset of the ';' that ends the first statement in s, or -1.  The
 * lexical rules are the query lexer's (query/parse.c): '...' and "..."
 * with \ escapes of the quote and of \, /regex/ with \/ (ending at a
 * newline at the latest), -- comments to the end of the line. */
static long statement_end(const char *s)
{
    for (const char *p = s; *p; p++) {
        if (*p == '\'' || *p == '"') {
            char q = *p++;
            while (*p && *p != q)
                p += p[0] == '\\' && (p[1] == q || p[1] == '\\') ? 2 : 1;
            if (!*p)
                return -1;
        } else if (*p == '/') {
            p++;
            while (*p && *p != '/' && *p != '\n')
                p += p[0] == '\\' && p[1] == '/' ? 2 : 1;
            if (!*p)
                return -1;
        } else if (p[0] == '-' && p[1] == '-') {
            while (*p && *p != '\n')
                p++;
            if (!*p)
                return -1;
        } else if (*p == ';') {
            return p - s;
        }
    }
    return -1;
}

static int starts_with_explain(const char *s)
{
    s = skip_blank(s);
    return strncasecmp(s, "explain", 7) == 0 && !isalnum((unsigned char)s[7]) && s[7] != '_' &&
           s[7] != '.';
}

static void run_statement(shell *sh, const char *text)
{
    if (!*skip_blank(text))
        return;
    char *explained = NULL;
    qout_opts o = *sh->o;
    if (sh->explain) {
        o.plot = NULL; /* a plan has nothing to chart */
        if (!starts_with_explain(text)) {
            size_t n = strlen(text);
            explained = malloc(n + 9);
            if (!explained) {
                cli_errorf("out of memory");
                sh->failed = 1;
                return;
            }
            memcpy(explained, "EXPLAIN ", 8);
            memcpy(explained + 8, text, n + 1);
            text = explained;
        }
    }
    double t0 = now_ms();
    int rc = qout_run(sh->db, text, &o, stdout);
    double ms = now_ms() - t0;
    if (sh->timer)
        printf("Run Time: %.3f ms\n", ms);
    fflush(stdout);
    if (rc != 0)
        sh->failed = 1;
    free(explained);
}

/* Run every complete statement in the buffer; keep the incomplete rest. */
static void run_complete(shell *sh)
{
    long end;
    while (sh->stmt.len && (end = statement_end(sh->stmt.p)) >= 0) {
        sh->stmt.p[end] = '\0';
        run_statement(sh, sh->stmt.p);
        size_t rest = sh->stmt.len - (size_t)end - 1;
        memmove(sh->stmt.p, sh->stmt.p + end + 1, rest + 1);
        sh->stmt.len = rest;
    }
    if (!*skip_blank(sh->stmt.p ? sh->stmt.p : ""))
        sb_clear(&sh->stmt);
}

/* ---- history ------------------------------------------------------------------- */

/* 1 when added; an empty line or a repeat of the last entry is not. */
static int history_push(history *h, const char *line)
{
    if (!*line || (h->n && !strcmp(h->e[h->n - 1], line)))
        return 0;
    if (!h->e && !(h->e = malloc(HISTORY_MAX * sizeof *h->e)))
        return 0;
    char *copy = strdup(line);
    if (!copy)
        return 0;
    if (h->n == HISTORY_MAX) {
        free(h->e[0]);
        memmove(h->e, h->e + 1, (h->n - 1) * sizeof *h->e);
        h->n--;
    }
    h->e[h->n++] = copy;
    return 1;
}

static void history_load(history *h)
{
    const char *home = getenv("HOME");
    if (!home || !*home)
        return;
    size_t n = strlen(home) + sizeof HISTORY_FILE + 1;
    h->path = malloc(n);
    if (!h->path)
        return;
    snprintf(h->path, n, "%s/%s", home, HISTORY_FILE);
    FILE *f = fopen(h->path, "r");
    if (!f)
        return;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, f)) > 0) {
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        history_push(h, line);
        h->in_file++;
    }
    free(line);
    fclose(f);
}

/* Add an entry to memory and to the end of the file. */
static void history_add(history *h, const char *line)
{
    if (!history_push(h, line) || !h->path)
        return;
    FILE *f = fopen(h->path, "a");
    if (!f)
        return;
    fprintf(f, "%s\n", line);
    if (fclose(f) == 0)
        h->in_file++;
}

/* Keep the file to the entries in memory once it has grown past them. */
static void history_close(history *h)
{
    if (h->path && h->in_file > HISTORY_MAX) {
        size_t n = strlen(h->path) + 5;
        char *tmp = malloc(n);
        FILE *f = NULL;
        if (tmp) {
            snprintf(tmp, n, "%s.tmp", h->path);
            f = fopen(tmp, "w");
        }
        if (f) {
            for (size_t i = 0; i < h->n; i++)
                fprintf(f, "%s\n", h->e[i]);
            if (fclose(f) == 0)
                rename(tmp, h->path);
            else
                unlink(tmp);
        }
        free(tmp);
    }
    for (size_t i = 0; i < h->n; i++)
        free(h->e[i]);
    free(h->e);
    free(h->path);
    memset(h, 0, sizeof *h);
}

/* The lines of a finished entry: joined by spaces into one editable line,
 * unless a -- comment would then swallow the lines after it. */
static void history_entry(shell *sh)
{
    strbuf *b = &sh->entered;
    if (!sh->editing || !b->len)
        return;
    if (strstr(b->p, "--")) {
        for (char *line = strtok(b->p, "\n"); line; line = strtok(NULL, "\n"))
            history_add(&sh->h, line);
    } else {
        for (char *p = b->p; *p; p++)
            if (*p == '\n')
                *p = ' ';
        history_add(&sh->h, b->p);
    }
    sb_clear(b);
}

/* ---- the line editor -------------------------------------------------------------- */

typedef struct editor {
    strbuf b;
    size_t pos; /* cursor, a byte offset at a character boundary */
    const char *prompt;
} editor;

static void write_all(const char *s, size_t n)
{
    while (n) {
        ssize_t w = write(STDOUT_FILENO, s, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

static size_t chars_in(const char *s, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += ((unsigned char)s[i] & 0xc0) != 0x80;
    return c;
}

/* The byte offset `chars` characters into s[0..n). */
static size_t offset_of(const char *s, size_t n, size_t chars)
{
    size_t i = 0;
    while (i < n && chars) {
        i++;
        while (i < n && ((unsigned char)s[i] & 0xc0) == 0x80)
            i++;
        chars--;
    }
    return i;
}

static int term_cols(void)
{
    struct winsize ws;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    return 80;
}

/* Redraw the line; longer lines scroll sideways to keep the cursor in view. */
static void refresh(editor *e)
{
    size_t plen = strlen(e->prompt);
    int cols = term_cols();
    size_t avail = (size_t)cols > plen + 2 ? (size_t)cols - plen - 1 : 1;
    size_t cur = chars_in(e->b.p, e->pos);
    size_t skip = cur > avail ? cur - avail : 0;
    size_t from = offset_of(e->b.p, e->b.len, skip);
    size_t to = from + offset_of(e->b.p + from, e->b.len - from, avail);
    strbuf out = {0};
    char mv[32];
    sb_add(&out, "\r", 1);
    sb_add(&out, e->prompt, plen);
    sb_add(&out, e->b.p + from, to - from);
    sb_add(&out, "\x1b[0K\r", 5);
    size_t col = plen + cur - skip;
    if (col) {
        snprintf(mv, sizeof mv, "\x1b[%zuC", col);
        sb_add(&out, mv, strlen(mv));
    }
    if (out.p)
        write_all(out.p, out.len);
    free(out.p);
}

static void set_line(editor *e, const char *s)
{
    sb_clear(&e->b);
    sb_add(&e->b, s, strlen(s));
    e->pos = e->b.len;
}

static size_t prev_char(const editor *e, size_t i)
{
    if (i == 0)
        return 0;
    i--;
    while (i > 0 && ((unsigned char)e->b.p[i] & 0xc0) == 0x80)
        i--;
    return i;
}

static size_t next_char(const editor *e, size_t i)
{
    if (i >= e->b.len)
        return e->b.len;
    i++;
    while (i < e->b.len && ((unsigned char)e->b.p[i] & 0xc0) == 0x80)
        i++;
    return i;
}

static void delete_range(editor *e, size_t from, size_t to)
{
    memmove(e->b.p + from, e->b.p + to, e->b.len - to + 1);
    e->b.len -= to - from;
    e->pos = from;
}

static int read_byte(unsigned char *c)
{
    for (;;) {
        ssize_t r = read(STDIN_FILENO, c, 1);
        if (r == 1)
            return 1;
        if (r < 0 && errno == EINTR)
            continue;
        return r == 0 ? 0 : -1;
    }
}

static int raw_mode(const shell *sh)
{
    struct termios t = sh->cooked;
    t.c_iflag &= ~(tcflag_t)(BRKINT | ICRNL | INPCK | ISTRIP | IXON);
    t.c_cflag |= CS8;
    t.c_lflag &= ~(tcflag_t)(ECHO | ICANON | IEXTEN | ISIG);
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    return tcsetattr(STDIN_FILENO, TCSADRAIN, &t);
}

static void cooked_mode(const shell *sh)
{
    tcsetattr(STDIN_FILENO, TCSADRAIN, &sh->cooked);
}

enum { LINE_EOF = 0, LINE_OK = 1, LINE_CANCEL = 2, LINE_ERROR = -1 };

/* Which key an escape sequence is (after ESC). */
enum { K_NONE, K_LEFT, K_RIGHT, K_UP, K_DOWN, K_HOME, K_END, K_DEL, K_WLEFT, K_WRIGHT };

static int escape_key(void)
{
    unsigned char a, b, c;
    if (read_byte(&a) != 1)
        return K_NONE;
    if (a == 'b')
        return K_WLEFT; /* alt-b */
    if (a == 'f')
        return K_WRIGHT;
    if ((a != '[' && a != 'O') || read_byte(&b) != 1)
        return K_NONE;
    if (b >= '0' && b <= '9') {
        /* ESC [ n ~, or ESC [ 1 ; 5 C (ctrl-arrows) */
        if (read_byte(&c) != 1)
            return K_NONE;
        if (c == ';') {
            unsigned char mod, key;
            if (read_byte(&mod) != 1 || read_byte(&key) != 1)
                return K_NONE;
            return key == 'C' ? K_WRIGHT : key == 'D' ? K_WLEFT : K_NONE;
        }
        if (c != '~')
            return K_NONE;
        return b == '1' || b == '7'   ? K_HOME
               : b == '4' || b == '8' ? K_END
               : b == '3'             ? K_DEL
                                      : K_NONE;
    }
    switch (b) {
    case 'A': return K_UP;
    case 'B': return K_DOWN;
    case 'C': return K_RIGHT;
    case 'D': return K_LEFT;
    case 'H': return K_HOME;
    case 'F': return K_END;
    default: return K_NONE;
    }
}

/* Edit one line in raw mode; *out is the line (malloc'd) on LINE_OK. */
static int edit_line(shell *sh, const char *prompt, char **out)
{
    if (raw_mode(sh) != 0)
        return LINE_ERROR;
    editor e = {{0}, 0, prompt};
    if (sb_add(&e.b, "", 0) != 0) {
        cooked_mode(sh);
        return LINE_ERROR;
    }
    size_t hidx = sh->h.n; /* sh->h.n: the new line, not a history entry */
    char *fresh = NULL;    /* the new line while browsing the history */
    int rc = LINE_ERROR;
    refresh(&e);
    for (;;) {
        unsigned char c;
        int r = read_byte(&c);
        if (r != 1) {
            rc = r == 0 ? LINE_EOF : LINE_ERROR;
            break;
        }
        int key = K_NONE;
        if (c == 27)
            key = escape_key();
        if (c == '\r' || c == '\n') {
            rc = LINE_OK;
            break;
        }
        if (c == 3) { /* ctrl-C */
            write_all("^C", 2);
            rc = LINE_CANCEL;
            break;
        }
        if (c == 4 && e.b.len == 0) { /* ctrl-D on an empty line */
            rc = LINE_EOF;
            break;
        }
        if (c == 1 || key == K_HOME)
            e.pos = 0;
        else if (c == 5 || key == K_END)
            e.pos = e.b.len;
        else if (c == 2 || key == K_LEFT)
            e.pos = prev_char(&e, e.pos);
        else if (c == 6 || key == K_RIGHT)
            e.pos = next_char(&e, e.pos);
        else if (c == 127 || c == 8) {
            if (e.pos)
                delete_range(&e, prev_char(&e, e.pos), e.pos);
        } else if (c == 4 || key == K_DEL) {
            if (e.pos < e.b.len)
                delete_range(&e, e.pos, next_char(&e, e.pos));
        } else if (c == 11) { /* ctrl-K */
            e.b.len = e.pos;
            e.b.p[e.b.len] = '\0';
        } else if (c == 21) { /* ctrl-U */
            delete_range(&e, 0, e.pos);
        } else if (c == 23 || key == K_WLEFT) { /* ctrl-W deletes, alt-b moves */
            size_t i = e.pos;
            while (i && isspace((unsigned char)e.b.p[i - 1]))
                i--;
            while (i && !isspace((unsigned char)e.b.p[i - 1]))
                i--;
            if (c == 23)
                delete_range(&e, i, e.pos);
            else
                e.pos = i;
        } else if (key == K_WRIGHT) {
            size_t i = e.pos;
            while (i < e.b.len && isspace((unsigned char)e.b.p[i]))
                i++;
            while (i < e.b.len && !isspace((unsigned char)e.b.p[i]))
                i++;
            e.pos = i;
        } else if (c == 16 || key == K_UP) { /* ctrl-P */
            if (hidx > 0) {
                if (hidx == sh->h.n) {
                    free(fresh);
                    fresh = strdup(e.b.p);
                }
                set_line(&e, sh->h.e[--hidx]);
            }
        } else if (c == 14 || key == K_DOWN) { /* ctrl-N */
            if (hidx < sh->h.n) {
                hidx++;
                set_line(&e, hidx < sh->h.n ? sh->h.e[hidx] : fresh ? fresh : "");
            }
        } else if (c == 12) { /* ctrl-L */
            write_all("\x1b[H\x1b[2J", 7);
        } else if (c >= 0x20 && c != 127 && c != 27) {
            char ch = (char)c;
            size_t tail = e.b.len - e.pos;
            if (sb_add(&e.b, &ch, 1) == 0) {
                memmove(e.b.p + e.pos + 1, e.b.p + e.pos, tail);
                e.b.p[e.pos++] = ch;
            }
        }
        refresh(&e);
    }
    write_all("\n", 1); /* OPOST is left on: the terminal makes it \r\n */
    cooked_mode(sh);
    free(fresh);
    if (rc == LINE_OK)
        *out = e.b.p;
    else
        free(e.b.p);
    return rc;
}

/* One line of input, without its line end; *out malloc'd on LINE_OK. */
static int read_line(shell *sh, const char *prompt, char **out)
{
    if (sh->editing)
        return edit_line(sh, prompt, out);
    if (sh->interactive) {
        fputs(prompt, stdout);
        fflush(stdout);
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, stdin);
    if (n < 0) {
        free(line);
        if (sh->interactive && !ferror(stdin))
            fputc('\n', stdout);
        return ferror(stdin) ? LINE_ERROR : LINE_EOF;
    }
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    *out = line;
    return LINE_OK;
}

/* ---- dot commands -------------------------------------------------------------------- */

static const char *const format_names[] = {"table", "csv", "json", "ndjson"};

static void help(const shell *sh)
{
    printf(".help                         this text\n"
           ".format table|csv|json|ndjson how rows are printed (now %s)\n"
           ".timer on|off                 print \"Run Time: X ms\" after each query (now %s)\n"
           ".explain on|off               run EXPLAIN <query> instead of each query (now %s)\n"
           ".plot off|-|FILE.svg          chart each result: no, on the terminal, into FILE.svg\n"
           "                              (now %s)\n"
           ".epoch ns|rfc3339             print times as integer ns or RFC 3339 text (now %s)\n"
           ".quit, .exit                  leave (ctrl-D on an empty line does too)\n"
           "\n"
           "A query (docs/QUERY.md) may span lines; it ends at ';' or at an empty line,\n"
           "and a last one without either runs at the end of the input.  With no argument,\n"
           "a dot command prints its setting.\n",
           format_names[sh->o->format], sh->timer ? "on" : "off", sh->explain ? "on" : "off",
           sh->o->plot ? sh->o->plot : "off", sh->o->epoch_ns ? "ns" : "rfc3339");
    if (sh->editing)
        printf("\nEditing: left/right (ctrl-B/F), alt-b/f or ctrl-left/right by word, home/end\n"
               "(ctrl-A/E), backspace, delete, ctrl-K/U/W delete to the end, to the start, the\n"
               "word before; up/down (ctrl-P/N) recall earlier entries (kept in ~/%s);\n"
               "ctrl-C cancels the input, ctrl-L clears the screen.\n",
               HISTORY_FILE);
}

/* An on|off argument; -1 (reported) if it is neither. */
static int on_off(const char *cmd, const char *arg)
{
    if (!strcmp(arg, "on"))
        return 1;
    if (!strcmp(arg, "off"))
        return 0;
    cli_errorf("%s takes on or off, not '%s'", cmd, arg);
    return -1;
}

/* Returns 1 when the shell should end. */
static int dot_command(shell *sh, const char *line)
{
    char cmd[32];
    const char *p = line;
    while (isspace((unsigned char)*p))
        p++;
    size_t n = 0;
    while (p[n] && !isspace((unsigned char)p[n]))
        n++;
    snprintf(cmd, sizeof cmd, "%.*s", (int)n, p);
    const char *arg = p + n;
    while (isspace((unsigned char)*arg))
        arg++;
    /* the argument: the rest of the line, trailing blanks removed */
    char argbuf[4096];
    snprintf(argbuf, sizeof argbuf, "%s", arg);
    for (size_t l = strlen(argbuf); l && isspace((unsigned char)argbuf[l - 1]); l--)
        argbuf[l - 1] = '\0';
    arg = argbuf;
    int has_arg = *arg != '\0';
    int bad = 0;

    if (!strcmp(cmd, ".quit") || !strcmp(cmd, ".exit"))
        return 1;
    if (!strcmp(cmd, ".help")) {
        help(sh);
    } else if (!strcmp(cmd, ".format")) {
        if (!has_arg)
            printf("%s\n", format_names[sh->o->format]);
        else if ((bad = qout_parse_format(arg, &sh->o->format) != 0))
            cli_errorf(".format takes table, csv, json or ndjson, not '%s'", arg);
    } else if (!strcmp(cmd, ".timer") || !strcmp(cmd, ".explain")) {
        int *flag = cmd[1] == 't' ? &sh->timer : &sh->explain;
        int v = has_arg ? on_off(cmd, arg) : *flag;
        if (!has_arg)
            printf("%s\n", v ? "on" : "off");
        else if (v < 0)
            bad = 1;
        else
            *flag = v;
    } else if (!strcmp(cmd, ".epoch")) {
        if (!has_arg)
            printf("%s\n", sh->o->epoch_ns ? "ns" : "rfc3339");
        else if (!(bad = strcmp(arg, "ns") != 0 && strcmp(arg, "rfc3339") != 0))
            sh->o->epoch_ns = arg[0] == 'n';
        else
            cli_errorf(".epoch takes ns or rfc3339, not '%s'", arg);
    } else if (!strcmp(cmd, ".plot")) {
        if (!has_arg) {
            printf("%s\n", sh->o->plot ? sh->o->plot : "off");
        } else if (!strcmp(arg, "off")) {
            sh->o->plot = NULL;
        } else {
            char *copy = strdup(arg);
            if (!copy) {
                cli_errorf("out of memory");
                bad = 1;
            } else {
                free(sh->plot);
                sh->plot = copy;
                sh->o->plot = copy;
            }
        }
    } else {
        cli_errorf("unknown command '%s'; the commands are .help, .format, .timer, .explain, "
                   ".plot, .epoch, .quit and .exit",
                   cmd);
        bad = 1;
    }
    if (bad)
        sh->failed = 1;
    fflush(stdout);
    return 0;
}

/* ---- the loop ---------------------------------------------------------------------------- */

int shell_run(strata_db *db, const char *path, qout_opts *o)
{
    shell sh;
    memset(&sh, 0, sizeof sh);
    sh.db = db;
    sh.o = o;
    const char *caller_plot = o->plot;
    sh.interactive = isatty(STDIN_FILENO);
    const char *term = getenv("TERM");
    sh.editing = sh.interactive && isatty(STDOUT_FILENO) && term && strcmp(term, "dumb") != 0 &&
                 tcgetattr(STDIN_FILENO, &sh.cooked) == 0;
    if (sh.editing)
        history_load(&sh.h);
    if (sh.interactive)
        printf("strata %s, database %s\n"
               "End a query with ';' or an empty line; .help lists the commands.\n",
               STRATA_VERSION_STRING, path);

    int read_failed = 0;
    for (;;) {
        char *line = NULL;
        int r = read_line(&sh, sh.stmt.len ? PROMPT_MORE : PROMPT, &line);
        if (r == LINE_CANCEL) {
            sb_clear(&sh.stmt);
            sb_clear(&sh.entered);
            continue;
        }
        if (r != LINE_OK) {
            read_failed = r == LINE_ERROR;
            if (read_failed)
                cli_errorf("reading standard input: %s", strerror(errno));
            break;
        }
        int quit = 0;
        const char *start = line + strspn(line, " \t");
        if (!sh.stmt.len && *start == '.') {
            sb_add(&sh.entered, line, strlen(line));
            history_entry(&sh);
            quit = dot_command(&sh, line);
        } else if (!*start) {
            /* an empty line ends a pending statement */
            history_entry(&sh);
            run_statement(&sh, sh.stmt.p ? sh.stmt.p : "");
            sb_clear(&sh.stmt);
        } else {
            if (sh.entered.len)
                sb_add(&sh.entered, "\n", 1);
            sb_add(&sh.entered, line, strlen(line));
            if (sh.stmt.len)
                sb_add(&sh.stmt, "\n", 1);
            if (sb_add(&sh.stmt, line, strlen(line)) != 0) {
                cli_errorf("out of memory");
                sh.failed = 1;
                sb_clear(&sh.stmt);
            }
            if (sh.stmt.len && statement_end(sh.stmt.p) >= 0) {
                run_complete(&sh);
                if (!sh.stmt.len)
                    history_entry(&sh);
            }
        }
        free(line);
        if (quit)
            break;
    }
    if (sh.stmt.len) /* the end of the input ends the last statement */
        run_statement(&sh, sh.stmt.p);
    history_entry(&sh);
    history_close(&sh.h);
    free(sh.stmt.p);
    free(sh.entered.p);
    o->plot = caller_plot;
    free(sh.plot);
    fflush(stdout);
    if (read_failed)
        return CLI_FAIL;
    return !sh.interactive && sh.failed ? CLI_FAIL : CLI_OK;
}
