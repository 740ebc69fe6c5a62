/*
 * The pipe knobs the FIFO writer needs and Node does not offer: the pipe's
 * capacity (fcntl F_GETPIPE_SZ / F_SETPIPE_SZ, fcntl(2) "Changing the capacity
 * of a pipe") and the bytes still unread in it (ioctl FIONREAD, pipe(7)). Plain
 * libc and kernel headers, no N-API: each returns its result (>= 0) or -errno.
 */
#ifndef PW_PIPE_H
#define PW_PIPE_H

/* The capacity of the pipe behind `fd` (either end), bytes; or -errno. */
int pw_get_pipe_size(int fd);

/*
 * Set the capacity of the pipe behind `fd` to at least `bytes` (the kernel
 * rounds up to a power of two pages). Returns the capacity now, bytes; or
 * -errno: EPERM above /proc/sys/fs/pipe-max-size without CAP_SYS_RESOURCE or
 * over the per-user pipe limits, EBUSY below what the pipe holds, EBADF for
 * an fd that is not a pipe.
 */
int pw_set_pipe_size(int fd, int bytes);

/* Bytes written into the pipe behind `fd` and not read yet; or -errno. */
int pw_pipe_unread(int fd);

#endif
