/* See pw_pipe.h. */
#define _GNU_SOURCE
#include "pw_pipe.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>

int pw_get_pipe_size(int fd) {
  int r = fcntl(fd, F_GETPIPE_SZ);
  return r < 0 ? -errno : r;
}

int pw_set_pipe_size(int fd, int bytes) {
  if (bytes <= 0)
    return -EINVAL;
  int r = fcntl(fd, F_SETPIPE_SZ, bytes);
  return r < 0 ? -errno : r;
}

int pw_pipe_unread(int fd) {
  int n = 0;
  /* FIONREAD works on either end of a pipe: the sum of its buffers' lengths. */
  if (ioctl(fd, FIONREAD, &n) < 0)
    return -errno;
  return n;
}
