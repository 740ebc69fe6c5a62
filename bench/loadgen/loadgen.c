/*
 * loadgen: offer a known UDP load to a loopback address, as fast as the kernel
 * takes it or at a fixed packet rate. Used by `npm run bench` inside a network
 * namespace the bench created; it never targets anything but the address given
 * (default 127.0.0.1).
 *
 *   loadgen --port P [--addr 127.0.0.1] [--size BYTES] [--pps N (0 = max)]
 *           [--seconds S | --count N] [--batch N] [--flows N]
 *
 * Prints one JSON line on stdout at the end:
 *   {"sent":N,"seconds":S,"errors":E,"bytes":B,"cpuSeconds":C,"maxrssKiB":M}
 * where `sent` counts datagrams the kernel accepted (sendmmsg's return value),
 * `bytes` their payload bytes, `errors` failed sendmmsg calls, `cpuSeconds`
 * the generator's own user+system time (getrusage; it is gone before anyone
 * could read its /proc entry) and `maxrssKiB` its peak RSS.
 *
 * Why sendmmsg: Node's dgram tops out far below what the NFLOG path can take;
 * one syscall per batch lets a single core offer a few hundred thousand pps.
 * Each datagram carries its own sequence number in its first 8 bytes (big
 * endian), so a capture can be checked for gaps if wanted.
 *
 * --flows N sends from N sockets, each with its own source port, one batch
 * after the other in turn: N UDP flows for a sender that shards by flow (a
 * smaller --batch interleaves them more finely).
 *
 * Build: cc -O2 -Wall -Wextra -o loadgen loadgen.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define LG_MAX_BATCH 256
#define LG_MAX_SIZE 65507
#define LG_MAX_FLOWS 4096

static volatile sig_atomic_t lg_stop;

static void lg_on_signal(int sig) {
  (void)sig;
  lg_stop = 1;
}

static double lg_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void lg_usage(void) {
  fprintf(stderr, "usage: loadgen --port P [--addr A] [--size BYTES] [--pps N] "
                  "[--seconds S | --count N] [--batch N]\n");
}

static int lg_parse_u64(const char *s, unsigned long long *out) {
  char *end = NULL;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0') return -1;
  *out = v;
  return 0;
}

static void lg_put_seq(unsigned char *p, size_t size, uint64_t seq) {
  /* Big-endian sequence number in the first (up to) 8 payload bytes. */
  for (size_t i = 0; i < 8 && i < size; i++) p[i] = (unsigned char)(seq >> (56 - 8 * i));
}

int main(int argc, char **argv) {
  const char *addr = "127.0.0.1";
  unsigned long long port = 0, size = 64, pps = 0, count = 0, batch = 64, flows = 1;
  double seconds = 0;

  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    int bad = 0;
    if (v == NULL) {
      lg_usage();
      return 2;
    }
    if (strcmp(a, "--port") == 0) bad = lg_parse_u64(v, &port);
    else if (strcmp(a, "--addr") == 0) addr = v;
    else if (strcmp(a, "--size") == 0) bad = lg_parse_u64(v, &size);
    else if (strcmp(a, "--pps") == 0) bad = lg_parse_u64(v, &pps);
    else if (strcmp(a, "--count") == 0) bad = lg_parse_u64(v, &count);
    else if (strcmp(a, "--batch") == 0) bad = lg_parse_u64(v, &batch);
    else if (strcmp(a, "--flows") == 0) bad = lg_parse_u64(v, &flows);
    else if (strcmp(a, "--seconds") == 0) {
      char *end = NULL;
      seconds = strtod(v, &end);
      bad = end == v || *end != '\0' || seconds < 0;
    } else bad = 1;
    if (bad) {
      fprintf(stderr, "loadgen: bad option %s %s\n", a, v);
      lg_usage();
      return 2;
    }
    i++;
  }
  if (port == 0 || port > 65535 || size == 0 || size > LG_MAX_SIZE || batch == 0 ||
      batch > LG_MAX_BATCH || flows == 0 || flows > LG_MAX_FLOWS ||
      (seconds <= 0 && count == 0)) {
    lg_usage();
    return 2;
  }

  struct sockaddr_in dst;
  memset(&dst, 0, sizeof dst);
  dst.sin_family = AF_INET;
  dst.sin_port = htons((uint16_t)port);
  if (inet_pton(AF_INET, addr, &dst.sin_addr) != 1) {
    fprintf(stderr, "loadgen: bad address %s\n", addr);
    return 2;
  }
  /* One connected socket per flow: connect() gives each its own ephemeral source port. */
  int fds[LG_MAX_FLOWS];
  for (unsigned long long f = 0; f < flows; f++) {
    fds[f] = socket(AF_INET, SOCK_DGRAM, 0);
    if (fds[f] < 0 || connect(fds[f], (struct sockaddr *)&dst, sizeof dst) != 0) {
      perror("loadgen: socket/connect");
      return 1;
    }
  }
  unsigned long long turn = 0;

  unsigned char *bufs = calloc(LG_MAX_BATCH, size);
  struct mmsghdr msgs[LG_MAX_BATCH];
  struct iovec iovs[LG_MAX_BATCH];
  if (bufs == NULL) {
    perror("loadgen: calloc");
    return 1;
  }
  memset(msgs, 0, sizeof msgs);
  for (size_t i = 0; i < LG_MAX_BATCH; i++) {
    unsigned char *p = bufs + i * size;
    for (size_t j = 0; j < size; j++) p[j] = (unsigned char)(j * 31 + 7);
    iovs[i].iov_base = p;
    iovs[i].iov_len = size;
    msgs[i].msg_hdr.msg_iov = &iovs[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = lg_on_signal;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);

  unsigned long long sent = 0, errors = 0;
  const double start = lg_now();
  const double end = seconds > 0 ? start + seconds : 0;
  double now = start;
  while (!lg_stop) {
    if (count > 0 && sent >= count) break;
    if (end > 0 && now >= end) break;
    unsigned long long n = batch;
    if (count > 0 && count - sent < n) n = count - sent;
    if (pps > 0) {
      /* Token bucket: packets allowed so far = pps * elapsed. Small bursts keep the
       * offered rate smooth at the scale of the kernel's NFLOG flush timeout. */
      double allowed = (now - start) * (double)pps - (double)sent;
      if (allowed < 1) {
        struct timespec ts = {0, 20000}; /* 20 us */
        nanosleep(&ts, NULL);
        now = lg_now();
        continue;
      }
      if ((double)n > allowed) n = (unsigned long long)allowed;
    }
    for (unsigned long long i = 0; i < n; i++) lg_put_seq(bufs + i * size, size, sent + i);
    int r = sendmmsg(fds[turn++ % flows], msgs, (unsigned int)n, 0);
    if (r < 0) {
      if (errno != EINTR) errors++;
      if (errno != EINTR && errno != EAGAIN && errno != ENOBUFS && errno != EPERM &&
          errno != ECONNREFUSED) {
        perror("loadgen: sendmmsg");
        break;
      }
    } else {
      sent += (unsigned long long)r;
    }
    now = lg_now();
  }
  double elapsed = lg_now() - start;
  struct rusage ru;
  memset(&ru, 0, sizeof ru);
  getrusage(RUSAGE_SELF, &ru);
  double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
               (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
  printf("{\"sent\":%llu,\"seconds\":%.6f,\"errors\":%llu,\"bytes\":%llu,\"cpuSeconds\":%.3f,"
         "\"maxrssKiB\":%ld}\n",
         sent, elapsed, errors, sent * size, cpu, ru.ru_maxrss);
  fflush(stdout);
  free(bufs);
  for (unsigned long long f = 0; f < flows; f++) close(fds[f]);
  return 0;
}
