/* Errors with context (Go style: "step path: errno text") and the debug/warn side channel. */
#include "hull.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static char g_msg[8192];
int g_debug;
static void (*g_sink)(char kind, const char *text);

const char *errno_text(int err) {
  static char buf[128];
  snprintf(buf, sizeof buf, "%s", strerror(err));
  if (buf[0] >= 'A' && buf[0] <= 'Z') buf[0] = (char)(buf[0] - 'A' + 'a');
  return buf;
}

int fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(g_msg, sizeof g_msg, fmt, ap);
  va_end(ap);
  return -1;
}

int fail_errno(int err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(g_msg, sizeof g_msg, fmt, ap);
  va_end(ap);
  if (n < 0) n = 0;
  if ((size_t)n < sizeof g_msg) snprintf(g_msg + n, sizeof g_msg - (size_t)n, ": %s", errno_text(err));
  return -1;
}

int fail_wrap(const char *fmt, ...) {
  char prefix[4096];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(prefix, sizeof prefix - 2, fmt, ap);
  va_end(ap);
  if (n < 0) return -1;
  size_t pl = strlen(prefix);
  memcpy(prefix + pl, ": ", 3);
  pl += 2;
  size_t ml = strlen(g_msg);
  if (pl + ml >= sizeof g_msg) ml = sizeof g_msg - 1 - pl;
  memmove(g_msg + pl, g_msg, ml);
  memcpy(g_msg, prefix, pl);
  g_msg[pl + ml] = 0;
  return -1;
}

const char *fail_message(void) { return g_msg[0] ? g_msg : "unknown error"; }

void report_set_sink(void (*sink)(char kind, const char *text)) { g_sink = sink; }

static void emit(char kind, const char *fmt, va_list ap) {
  char buf[4096];
  vsnprintf(buf, sizeof buf, fmt, ap);
  for (char *c = buf; *c; c++)
    if (*c == '\n') *c = ' '; /* one report line per message */
  if (g_sink) g_sink(kind, buf);
}

void report_debug(const char *fmt, ...) {
  if (!g_debug) return;
  va_list ap;
  va_start(ap, fmt);
  emit('d', fmt, ap);
  va_end(ap);
}

void report_warn(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  emit('w', fmt, ap);
  va_end(ap);
}
