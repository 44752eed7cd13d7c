/*
 * The reference for src/policies/waf/libinjection: reads inputs, one per line
 * as hex of the bytes, and prints for each, tab-separated: libinjection_sqli's
 * verdict and fingerprint, the fingerprints under the five contexts
 * libinjection_is_sqli tries, and libinjection_xss's verdict. Linked against
 * the libinjection inside Debian's libmodsecurity3 (what ModSecurity runs):
 *
 *   apt-get install libmodsecurity3
 *   cc -O2 -o oracle oracle.c /usr/lib/x86_64-linux-gnu/libmodsecurity.so.3
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int libinjection_sqli(const char *s, size_t len, char fingerprint[]);
void libinjection_sqli_init(void *state, const char *s, size_t len, int flags);
const char *libinjection_sqli_fingerprint(void *state, int flags);
int libinjection_xss(const char *s, size_t len);

static int hexval(int c) { return c <= '9' ? c - '0' : (c | 32) - 'a' + 10; }

int main(void) {
  static char line[1 << 20];
  static char buf[1 << 19];
  static long long state[4096]; /* larger than struct libinjection_sqli_state, aligned */
  const int flags[5] = {1 | 8, 1 | 16, 2 | 8, 2 | 16, 4 | 16};
  while (fgets(line, sizeof line, stdin)) {
    size_t n = strcspn(line, "\r\n"), len = n / 2, i;
    char fp[8];
    for (i = 0; i < len; i++) buf[i] = (char)(hexval(line[2 * i]) * 16 + hexval(line[2 * i + 1]));
    buf[len] = 0;
    int sqli = libinjection_sqli(buf, len, fp);
    printf("%d\t%s", sqli, sqli ? fp : "");
    for (i = 0; i < 5; i++) {
      libinjection_sqli_init(state, buf, len, flags[i]);
      printf("\t%s", libinjection_sqli_fingerprint(state, flags[i]));
    }
    printf("\t%d\n", libinjection_xss(buf, len));
  }
  return 0;
}
