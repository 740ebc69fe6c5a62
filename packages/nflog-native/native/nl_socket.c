/*
 * Raw NETLINK_NETFILTER socket for NFLOG. See nl_socket.h.
 *
 * Config messages carry NLM_F_ACK and are acknowledged synchronously during
 * open, so the kernel's verdict (EPERM, EBUSY, ...) reaches the caller as an
 * errno instead of silently leaving a group unbound.
 */
#include "nl_socket.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>
#include <linux/netlink.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#ifndef SO_RCVBUFFORCE
#define SO_RCVBUFFORCE 33
#endif

/* How long open() waits for one config ack: the kernel answers at once, so
 * this only matters if something is badly wrong. */
#define NL_ACK_TIMEOUT_MS 5000
#define NL_MSG_BYTES 256
#define NL_ACK_BUF_BYTES (256 * 1024)

struct nl_msg {
  uint8_t buf[NL_MSG_BYTES];
  size_t len;
};

static void nl_msg_start(struct nl_msg *m, uint32_t seq, uint16_t group,
                         uint8_t family) {
  struct nlmsghdr nlh;
  struct nfgenmsg nfg;

  memset(m->buf, 0, sizeof(m->buf));
  memset(&nlh, 0, sizeof(nlh));
  nlh.nlmsg_type = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG;
  nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  nlh.nlmsg_seq = seq;
  memcpy(m->buf, &nlh, sizeof(nlh));
  nfg.nfgen_family = family;
  nfg.version = NFNETLINK_V0;
  nfg.res_id = htons(group);
  memcpy(m->buf + NLMSG_HDRLEN, &nfg, sizeof(nfg));
  m->len = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(nfg));
}

static void nl_msg_attr(struct nl_msg *m, uint16_t type, const void *data,
                        uint16_t len) {
  struct nlattr nla;
  nla.nla_len = (uint16_t)(NLA_HDRLEN + len);
  nla.nla_type = type;
  /* Callers add a fixed, small set of attributes: NL_MSG_BYTES is ample. */
  memcpy(m->buf + m->len, &nla, sizeof(nla));
  memcpy(m->buf + m->len + NLA_HDRLEN, data, len);
  m->len += NLA_ALIGN(NLA_HDRLEN + len);
}

static void nl_msg_attr_be32(struct nl_msg *m, uint16_t type, uint32_t v) {
  uint32_t be = htonl(v);
  nl_msg_attr(m, type, &be, sizeof(be));
}

static int nl_send(int fd, struct nl_msg *m) {
  struct sockaddr_nl kernel;
  uint32_t len = (uint32_t)m->len;
  ssize_t n;

  memcpy(m->buf, &len, sizeof(len)); /* nlmsg_len */
  memset(&kernel, 0, sizeof(kernel));
  kernel.nl_family = AF_NETLINK;
  do {
    n = sendto(fd, m->buf, m->len, 0, (struct sockaddr *)&kernel,
               sizeof(kernel));
  } while (n < 0 && errno == EINTR);
  if (n < 0)
    return -errno;
  return n == (ssize_t)m->len ? 0 : -EMSGSIZE;
}

/* Look for the NLMSG_ERROR answering `seq` in one datagram.
 * Returns 1 and sets *err (0 = ack, else -errno) if found, 0 otherwise. */
static int nl_find_ack(const uint8_t *buf, size_t len, uint32_t seq, int *err) {
  size_t off = 0;
  while (len - off >= NLMSG_HDRLEN) {
    struct nlmsghdr nlh;
    memcpy(&nlh, buf + off, sizeof(nlh));
    if (nlh.nlmsg_len < NLMSG_HDRLEN || nlh.nlmsg_len > len - off)
      return 0;
    if (nlh.nlmsg_type == NLMSG_ERROR && nlh.nlmsg_seq == seq &&
        nlh.nlmsg_len >= NLMSG_HDRLEN + sizeof(int)) {
      int e;
      memcpy(&e, buf + off + NLMSG_HDRLEN, sizeof(e));
      *err = e; /* the kernel sends -errno, 0 for a plain ack */
      return 1;
    }
    off += NLMSG_ALIGN(nlh.nlmsg_len);
    if (off > len)
      break;
  }
  return 0;
}

static int nl_wait_ack_into(int fd, uint32_t seq, nl_other_fn on_other,
                            void *ctx, uint8_t *buf) {
  for (;;) {
    struct pollfd pfd = {.fd = fd, .events = POLLIN, .revents = 0};
    ssize_t n;
    int err = 0, r;

    r = poll(&pfd, 1, NL_ACK_TIMEOUT_MS);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      return -errno;
    if (r == 0)
      return -ETIMEDOUT;
    n = nl_recv(fd, buf, NL_ACK_BUF_BYTES);
    if (n == -EAGAIN || n == -ENOBUFS || n == -EMSGSIZE)
      continue; /* lost packets are seen later as NFULA_SEQ gaps */
    if (n < 0)
      return (int)n;
    if (nl_find_ack(buf, (size_t)n, seq, &err))
      return err;
    if (on_other != NULL)
      on_other(ctx, buf, (size_t)n);
  }
}

/* Only at open: a heap buffer big enough for any NFLOG batch (128 KiB). */
static int nl_wait_ack(int fd, uint32_t seq, nl_other_fn on_other, void *ctx) {
  uint8_t *buf = malloc(NL_ACK_BUF_BYTES);
  int err;
  if (buf == NULL)
    return -ENOMEM;
  err = nl_wait_ack_into(fd, seq, on_other, ctx, buf);
  free(buf);
  return err;
}

int nl_open(int *fd_out, uint32_t *portid_out) {
  struct sockaddr_nl local;
  socklen_t alen = sizeof(local);
  int fd, err;

  fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK,
              NETLINK_NETFILTER);
  if (fd < 0)
    return -errno;
  memset(&local, 0, sizeof(local));
  local.nl_family = AF_NETLINK; /* nl_pid 0: the kernel picks a port id */
  if (bind(fd, (struct sockaddr *)&local, sizeof(local)) < 0 ||
      getsockname(fd, (struct sockaddr *)&local, &alen) < 0) {
    err = -errno;
    close(fd);
    return err;
  }
  *fd_out = fd;
  *portid_out = local.nl_pid;
  return 0;
}

int nl_set_rcvbuf(int fd, int bytes, int *effective, int *forced) {
  socklen_t len = sizeof(*effective);
  *forced = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof(bytes)) < 0) {
    if (errno != EPERM)
      return -errno;
    /* Without CAP_NET_ADMIN, net.core.rmem_max caps the request. */
    *forced = 0;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes)) < 0)
      return -errno;
  }
  if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, effective, &len) < 0)
    return -errno;
  return 0;
}

int nl_pf_bind(int fd, uint32_t *seq, uint8_t family) {
  struct nl_msg m;
  uint8_t cmd = NFULNL_CFG_CMD_PF_BIND;
  int err;

  nl_msg_start(&m, ++*seq, 0, family);
  nl_msg_attr(&m, NFULA_CFG_CMD, &cmd, sizeof(cmd));
  err = nl_send(fd, &m);
  return err != 0 ? err : nl_wait_ack(fd, *seq, NULL, NULL);
}

int nl_bind_group(int fd, uint32_t *seq, uint16_t group,
                  const struct nl_group_config *cfg, nl_other_fn on_other,
                  void *ctx) {
  struct nl_msg m;
  struct nfulnl_msg_config_cmd cmd = {.command = NFULNL_CFG_CMD_BIND};
  struct nfulnl_msg_config_mode mode;
  uint16_t flags = htons(cfg->flags);
  int err;

  /* AF_UNSPEC, as libpcap does: a group is not tied to one family. */
  nl_msg_start(&m, ++*seq, group, AF_UNSPEC);
  nl_msg_attr(&m, NFULA_CFG_CMD, &cmd, sizeof(cmd));
  memset(&mode, 0, sizeof(mode));
  mode.copy_range = htonl(cfg->copy_range);
  mode.copy_mode = NFULNL_COPY_PACKET;
  nl_msg_attr(&m, NFULA_CFG_MODE, &mode, sizeof(mode));
  nl_msg_attr_be32(&m, NFULA_CFG_NLBUFSIZ, cfg->nlbufsiz);
  nl_msg_attr_be32(&m, NFULA_CFG_TIMEOUT, cfg->timeout_cs);
  nl_msg_attr_be32(&m, NFULA_CFG_QTHRESH, cfg->qthresh);
  nl_msg_attr(&m, NFULA_CFG_FLAGS, &flags, sizeof(flags));
  err = nl_send(fd, &m);
  return err != 0 ? err : nl_wait_ack(fd, *seq, on_other, ctx);
}

int nl_unbind_group(int fd, uint32_t *seq, uint16_t group, nl_other_fn on_other,
                    void *ctx) {
  struct nl_msg m;
  struct nfulnl_msg_config_cmd cmd = {.command = NFULNL_CFG_CMD_UNBIND};
  int err;

  nl_msg_start(&m, ++*seq, group, AF_UNSPEC);
  nl_msg_attr(&m, NFULA_CFG_CMD, &cmd, sizeof(cmd));
  err = nl_send(fd, &m);
  return err != 0 ? err : nl_wait_ack(fd, *seq, on_other, ctx);
}

ssize_t nl_recv(int fd, uint8_t *buf, size_t cap) {
  ssize_t n;
  do {
    /* MSG_TRUNC makes recv() return the real size of a datagram that did
     * not fit, so a short buffer is detected instead of parsed. */
    n = recv(fd, buf, cap, MSG_TRUNC);
  } while (n < 0 && errno == EINTR);
  if (n < 0)
    return -errno;
  if ((size_t)n > cap)
    return -EMSGSIZE;
  return n;
}
