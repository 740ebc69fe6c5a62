/*
 * Raw NETLINK_NETFILTER socket for NFLOG (kernel headers only, no
 * libnetfilter_log). Every function returns 0 or -errno; no N-API, no libuv.
 */
#ifndef NFLOG_NATIVE_NL_SOCKET_H
#define NFLOG_NATIVE_NL_SOCKET_H

#include <linux/netfilter/nfnetlink_log.h> /* NFULNL_CFG_F_* */
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Per-group settings sent with NFULNL_CFG_CMD_BIND in one message. */
struct nl_group_config {
  uint32_t copy_range; /* NFULA_CFG_MODE copy_range (bytes) */
  uint32_t nlbufsiz;   /* NFULA_CFG_NLBUFSIZ (bytes) */
  uint32_t qthresh;    /* NFULA_CFG_QTHRESH (packets) */
  uint32_t timeout_cs; /* NFULA_CFG_TIMEOUT (1/100 s) */
  uint16_t flags;      /* NFULA_CFG_FLAGS (NFULNL_CFG_F_*) */
};

/* Open a non-blocking, close-on-exec NETLINK_NETFILTER socket bound to a
 * kernel-assigned port id. */
int nl_open(int *fd_out, uint32_t *portid_out);

/* Set the receive buffer with SO_RCVBUFFORCE (needs CAP_NET_ADMIN; ignores
 * net.core.rmem_max), falling back to SO_RCVBUF on EPERM (*forced = 0).
 * *effective is what the kernel reports back (it doubles the request). */
int nl_set_rcvbuf(int fd, int bytes, int *effective, int *forced);

/* NFULNL_CFG_CMD_PF_BIND for one address family, acked. A no-op for groups
 * on modern kernels (it only makes nfnetlink_log the family's default
 * logger), but it is the first privileged request, so EPERM here means "no
 * CAP_NET_ADMIN" rather than "group owned by someone else". */
int nl_pf_bind(int fd, uint32_t *seq, uint8_t family);

/* NFULNL_CFG_CMD_BIND for one group plus its settings, in one acked message.
 * Datagrams that arrive while waiting for the ack and are not the ack are
 * handed to on_other (they may be packets for groups bound earlier). */
typedef void (*nl_other_fn)(void *ctx, const uint8_t *buf, size_t len);
int nl_bind_group(int fd, uint32_t *seq, uint16_t group,
                  const struct nl_group_config *cfg, nl_other_fn on_other,
                  void *ctx);

/* NFULNL_CFG_CMD_UNBIND for one group, acked. The kernel destroys the
 * instance and, before acking, sends us the batch it was still holding
 * (nfnetlink_log's __instance_destroy flushes the pending skb to the peer);
 * that datagram, and any other that arrives while waiting, goes to on_other.
 * Needs CAP_NET_ADMIN at the time of the call (EPERM once dropped). */
int nl_unbind_group(int fd, uint32_t *seq, uint16_t group, nl_other_fn on_other,
                    void *ctx);

/* recv() one datagram, retrying EINTR. Returns its length, or -errno
 * (-EAGAIN when empty, -ENOBUFS after the kernel dropped messages). A
 * datagram larger than cap is reported as -EMSGSIZE (it was discarded). */
ssize_t nl_recv(int fd, uint8_t *buf, size_t cap);

#endif
