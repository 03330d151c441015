/*
 * netlink_socket: the AF_NETLINK socket as a handful of N-API functions.
 *
 * This addon knows nothing about netlink messages or conntrack; it only does
 * the system calls that Node.js cannot do itself. Everything above the socket
 * (framing, sequence numbers, attributes) lives in TypeScript.
 *
 * Hot-path calls (send, recv) report failures as a negative errno return
 * value instead of throwing, because EAGAIN and ENOBUFS are ordinary events
 * for a netlink reader and exceptions are expensive in V8. Set-up calls
 * (open, bind, setsockopt) throw Node-style system errors.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/netlink.h>
#include <node_api.h>
#include <sched.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include <uv.h>

#define MAX_SEND_BUFFERS 64

#define CHECK(call)                                                            \
  do {                                                                         \
    if ((call) != napi_ok) {                                                   \
      napi_throw_error(env, NULL, "netlink_socket: N-API call failed: " #call);\
      return NULL;                                                             \
    }                                                                          \
  } while (0)

/* Throws an Error shaped like Node's SystemError: message, code, errno, syscall. */
static napi_value throw_errno(napi_env env, int err, const char *syscall) {
  char msg[256];
  napi_value error, code, message, errno_value, syscall_value;
  const char *name = strerrorname_np(err);
  snprintf(msg, sizeof msg, "%s: %s", syscall, strerror(err));
  napi_create_string_utf8(env, name ? name : "EUNKNOWN", NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, code, message, &error);
  napi_create_int32(env, -err, &errno_value);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &syscall_value);
  napi_set_named_property(env, error, "errno", errno_value);
  napi_set_named_property(env, error, "syscall", syscall_value);
  napi_throw(env, error);
  return NULL;
}

static int get_int_args(napi_env env, napi_callback_info info, size_t want,
                        int32_t *out, napi_value *argv) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < want)
    return -1;
  for (size_t i = 0; i < want; i++)
    if (out && napi_get_value_int32(env, argv[i], &out[i]) != napi_ok) return -1;
  return 0;
}

static napi_value int_value(napi_env env, int64_t v) {
  napi_value r;
  napi_create_int64(env, v, &r);
  return r;
}

/* Creates the socket in the current network namespace. */
static int open_here(int protocol) {
  return socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, protocol);
}

/*
 * Creates the socket inside the namespace at ns_path. setns() applies to the
 * calling thread only, and a socket keeps the namespace it was created in, so
 * switching there and straight back around socket() is enough.
 */
static int open_in_netns(int protocol, const char *ns_path, const char **failed) {
  int home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (home < 0) { *failed = "open"; return -1; }
  int target = open(ns_path, O_RDONLY | O_CLOEXEC);
  if (target < 0) { int e = errno; close(home); errno = e; *failed = "open"; return -1; }
  if (setns(target, CLONE_NEWNET) < 0) {
    int e = errno; close(home); close(target); errno = e; *failed = "setns"; return -1;
  }
  int fd = open_here(protocol);
  int e = errno;
  if (setns(home, CLONE_NEWNET) < 0) abort(); /* cannot continue in the wrong namespace */
  close(home);
  close(target);
  if (fd < 0) { errno = e; *failed = "socket"; }
  return fd;
}

/* open(protocol, netnsPath?) -> fd */
static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t protocol;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  CHECK(napi_get_value_int32(env, argv[0], &protocol));
  napi_valuetype t = napi_undefined;
  if (argc > 1) CHECK(napi_typeof(env, argv[1], &t));
  int fd;
  const char *failed = "socket";
  if (t == napi_string) {
    char path[4096];
    size_t len;
    CHECK(napi_get_value_string_utf8(env, argv[1], path, sizeof path, &len));
    fd = open_in_netns(protocol, path, &failed);
  } else {
    fd = open_here(protocol);
  }
  if (fd < 0) return throw_errno(env, errno, failed);
  return int_value(env, fd);
}

/* bind(fd, groups) -> port id the kernel assigned */
static napi_value js_bind(napi_env env, napi_callback_info info) {
  int32_t a[2];
  napi_value argv[2];
  if (get_int_args(env, info, 2, a, argv)) return throw_errno(env, EINVAL, "bind");
  struct sockaddr_nl addr = {.nl_family = AF_NETLINK, .nl_groups = (uint32_t)a[1]};
  if (bind(a[0], (struct sockaddr *)&addr, sizeof addr) < 0)
    return throw_errno(env, errno, "bind");
  socklen_t len = sizeof addr;
  if (getsockname(a[0], (struct sockaddr *)&addr, &len) < 0)
    return throw_errno(env, errno, "getsockname");
  return int_value(env, addr.nl_pid);
}

/* setsockopt(fd, level, name, value) for every int-valued option */
static napi_value js_setsockopt(napi_env env, napi_callback_info info) {
  int32_t a[4];
  napi_value argv[4];
  if (get_int_args(env, info, 4, a, argv)) return throw_errno(env, EINVAL, "setsockopt");
  int v = a[3];
  if (setsockopt(a[0], a[1], a[2], &v, sizeof v) < 0)
    return throw_errno(env, errno, "setsockopt");
  return NULL;
}

/* getsockopt(fd, level, name) -> int value */
static napi_value js_getsockopt(napi_env env, napi_callback_info info) {
  int32_t a[3];
  napi_value argv[3];
  if (get_int_args(env, info, 3, a, argv)) return throw_errno(env, EINVAL, "getsockopt");
  int v = 0;
  socklen_t len = sizeof v;
  if (getsockopt(a[0], a[1], a[2], &v, &len) < 0)
    return throw_errno(env, errno, "getsockopt");
  return int_value(env, v);
}

/* attachFilter(fd, program) where program holds struct sock_filter[] (8 bytes each) */
static napi_value js_attach_filter(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t fd;
  void *data;
  size_t len;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  CHECK(napi_get_buffer_info(env, argv[1], &data, &len));
  struct sock_fprog prog = {.len = (unsigned short)(len / sizeof(struct sock_filter)),
                            .filter = data};
  if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog) < 0)
    return throw_errno(env, errno, "setsockopt");
  return NULL;
}

/* send(fd, buffers[]) -> bytes sent, or -errno. One sendmsg to the kernel (port 0). */
static napi_value js_send(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t fd;
  uint32_t n;
  struct iovec iov[MAX_SEND_BUFFERS];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  CHECK(napi_get_array_length(env, argv[1], &n));
  if (n > MAX_SEND_BUFFERS) return int_value(env, -EMSGSIZE);
  for (uint32_t i = 0; i < n; i++) {
    napi_value b;
    CHECK(napi_get_element(env, argv[1], i, &b));
    CHECK(napi_get_buffer_info(env, b, &iov[i].iov_base, &iov[i].iov_len));
  }
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  struct msghdr msg = {.msg_name = &kernel, .msg_namelen = sizeof kernel,
                       .msg_iov = iov, .msg_iovlen = n};
  ssize_t r;
  do r = sendmsg(fd, &msg, 0); while (r < 0 && errno == EINTR);
  return int_value(env, r < 0 ? -errno : r);
}

/*
 * recv(fd, buffer) -> datagram length, or -errno. MSG_TRUNC makes the kernel
 * report the datagram's real length, so a result larger than the buffer
 * means the datagram was truncated.
 */
static napi_value js_recv(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t fd;
  void *data;
  size_t len;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  CHECK(napi_get_buffer_info(env, argv[1], &data, &len));
  struct sockaddr_nl from;
  struct iovec iov = {.iov_base = data, .iov_len = len};
  struct msghdr msg = {.msg_name = &from, .msg_namelen = sizeof from,
                       .msg_iov = &iov, .msg_iovlen = 1};
  ssize_t r;
  do r = recvmsg(fd, &msg, MSG_TRUNC); while (r < 0 && errno == EINTR);
  return int_value(env, r < 0 ? -errno : r);
}

/* close(fd) */
static napi_value js_close(napi_env env, napi_callback_info info) {
  int32_t fd;
  napi_value argv[1];
  if (get_int_args(env, info, 1, &fd, argv)) return throw_errno(env, EINVAL, "close");
  if (close(fd) < 0) return throw_errno(env, errno, "close");
  return NULL;
}

/* ---- readiness: one uv_poll per socket, started and stopped from JS ---- */

typedef struct {
  uv_poll_t poll;
  napi_env env;
  napi_ref callback;
  napi_async_context context;
  int closed;
} poller_t;

static void on_poll(uv_poll_t *handle, int status, int events) {
  poller_t *p = handle->data;
  napi_handle_scope scope;
  napi_value cb, recv, argv[2], result;
  napi_open_handle_scope(p->env, &scope);
  napi_get_reference_value(p->env, p->callback, &cb);
  /* make_callback needs an object as receiver; undefined fails silently. */
  napi_get_global(p->env, &recv);
  napi_create_int32(p->env, status, &argv[0]);
  napi_create_int32(p->env, events, &argv[1]);
  /* make_callback runs the microtask queue afterwards, so promises settle. */
  napi_make_callback(p->env, p->context, recv, cb, 2, argv, &result);
  napi_close_handle_scope(p->env, scope);
}

static void on_poll_closed(uv_handle_t *handle) {
  free(handle->data);
}

static poller_t *get_poller(napi_env env, napi_value v) {
  void *p = NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok) return NULL;
  return p;
}

/* pollCreate(fd, callback(status, events)) -> handle; polling starts paused */
static napi_value js_poll_create(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], handle, name;
  int32_t fd;
  uv_loop_t *loop;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  CHECK(napi_get_uv_event_loop(env, &loop));
  poller_t *p = calloc(1, sizeof *p);
  if (!p) return throw_errno(env, ENOMEM, "calloc");
  int r = uv_poll_init(loop, &p->poll, fd);
  if (r < 0) { free(p); return throw_errno(env, -r, "uv_poll_init"); }
  p->poll.data = p;
  p->env = env;
  CHECK(napi_create_reference(env, argv[1], 1, &p->callback));
  CHECK(napi_create_string_utf8(env, "NetlinkSocket", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_async_init(env, NULL, name, &p->context));
  CHECK(napi_create_external(env, p, NULL, NULL, &handle));
  return handle;
}

/* pollStart(handle): wake the callback whenever the socket is readable */
static napi_value js_poll_start(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  poller_t *p = get_poller(env, argv[0]);
  if (!p || p->closed) return NULL;
  int r = uv_poll_start(&p->poll, UV_READABLE, on_poll);
  if (r < 0) return throw_errno(env, -r, "uv_poll_start");
  return NULL;
}

/* pollStop(handle): stop reading (backpressure); the kernel keeps the data */
static napi_value js_poll_stop(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  poller_t *p = get_poller(env, argv[0]);
  if (p && !p->closed) uv_poll_stop(&p->poll);
  return NULL;
}

/* pollClose(handle): release the poller; must come before close(fd) */
static napi_value js_poll_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  poller_t *p = get_poller(env, argv[0]);
  if (!p || p->closed) return NULL;
  p->closed = 1;
  uv_poll_stop(&p->poll);
  napi_delete_reference(env, p->callback);
  napi_async_destroy(env, p->context);
  uv_close((uv_handle_t *)&p->poll, on_poll_closed);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_default, NULL},
      {"bind", NULL, js_bind, NULL, NULL, NULL, napi_default, NULL},
      {"setsockopt", NULL, js_setsockopt, NULL, NULL, NULL, napi_default, NULL},
      {"getsockopt", NULL, js_getsockopt, NULL, NULL, NULL, napi_default, NULL},
      {"attachFilter", NULL, js_attach_filter, NULL, NULL, NULL, napi_default, NULL},
      {"send", NULL, js_send, NULL, NULL, NULL, napi_default, NULL},
      {"recv", NULL, js_recv, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
      {"pollCreate", NULL, js_poll_create, NULL, NULL, NULL, napi_default, NULL},
      {"pollStart", NULL, js_poll_start, NULL, NULL, NULL, napi_default, NULL},
      {"pollStop", NULL, js_poll_stop, NULL, NULL, NULL, napi_default, NULL},
      {"pollClose", NULL, js_poll_close, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok)
    return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
