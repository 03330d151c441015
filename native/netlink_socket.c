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
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
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

/*
 * getsockoptBuffer(fd, level, name, buffer) -> bytes the kernel wrote.
 * For options whose value is a struct or an array, such as SO_MEMINFO
 * (u32[SK_MEMINFO_VARS], with the socket's drop count).
 */
static napi_value js_getsockopt_buffer(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  int32_t a[3];
  void *data;
  size_t len;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 4) return throw_errno(env, EINVAL, "getsockopt");
  for (int i = 0; i < 3; i++) CHECK(napi_get_value_int32(env, argv[i], &a[i]));
  CHECK(napi_get_buffer_info(env, argv[3], &data, &len));
  socklen_t got = (socklen_t)len;
  if (getsockopt(a[0], a[1], a[2], data, &got) < 0)
    return throw_errno(env, errno, "getsockopt");
  return int_value(env, got);
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
/*
 * unixDatagramSend(address, data): one datagram on a fresh AF_UNIX socket,
 * for the daemon's syslog (/dev/log) and systemd notifications, which Node
 * cannot send (its dgram module has no AF_UNIX). `address` holds sun_path's
 * bytes as given, a leading NUL naming an abstract socket. Never blocks: a
 * receiver that is not keeping up loses the message (-EAGAIN). Returns the
 * bytes sent or a negative errno.
 */
static napi_value js_unix_datagram_send(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  void *address, *data;
  size_t address_len, data_len;
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2) return throw_errno(env, EINVAL, "unixDatagramSend");
  CHECK(napi_get_buffer_info(env, argv[0], &address, &address_len));
  CHECK(napi_get_buffer_info(env, argv[1], &data, &data_len));
  if (address_len == 0 || address_len > sizeof sa.sun_path) return int_value(env, -EINVAL);
  memcpy(sa.sun_path, address, address_len);
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return int_value(env, -errno);
  ssize_t n = sendto(fd, data, data_len, MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&sa,
                     offsetof(struct sockaddr_un, sun_path) + address_len);
  int err = errno;
  close(fd);
  return int_value(env, n < 0 ? -err : n);
}

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

/* The C object behind a handle (a poller or a reader); NULL for anything else. */
static void *get_external(napi_env env, napi_value v) {
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
  poller_t *p = get_external(env, argv[0]);
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
  poller_t *p = get_external(env, argv[0]);
  if (p && !p->closed) uv_poll_stop(&p->poll);
  return NULL;
}

/* pollClose(handle): release the poller; must come before close(fd) */
static napi_value js_poll_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  poller_t *p = get_external(env, argv[0]);
  if (!p || p->closed) return NULL;
  p->closed = 1;
  uv_poll_stop(&p->poll);
  napi_delete_reference(env, p->callback);
  napi_async_destroy(env, p->context);
  uv_close((uv_handle_t *)&p->poll, on_poll_closed);
  return NULL;
}

/*
 * ---- read-ahead: a thread that receives while JavaScript decodes ----
 *
 * A netlink dump runs inside the recvmsg() that asks for its next datagram,
 * so with one thread the kernel's work and ours take turns. A reader thread
 * calls recvmmsg() back to back into a ring of datagram records and JS takes
 * them out in order: the kernel's share of a dump moves to the second core.
 * The ring bounds memory: when it is full the thread stops reading, the
 * socket fills, and the kernel pauses the dump (the same backpressure as
 * not reading at all). Records carry what recvmsg() returned, errors
 * included, so JS sees exactly the sequence a direct reader would.
 *
 * Record: int32 result (datagram length, or -errno), uint32 bytes stored,
 * then the bytes, padded to 8. A result of RECORD_WRAP means "continue at
 * the start of the ring".
 */
#define RECORD_HDR 8
#define MAX_DATAGRAM (64 * 1024)
#define RECORD_WRAP INT32_MIN
/* Datagrams one recvmmsg() takes at most: the first straight into the
   ring, the others through a scratch area. Events come in bursts, one
   datagram each, and a system call costs about as much as an event's
   whole handling here (~1 us with page-table isolation). */
#define RECV_BATCH 16

/*
 * A thread's way back to JavaScript: an async handle the thread signals and
 * the callback it runs on the loop. The first member of each thread's state
 * (reader_t, writer_t), so that the handle's data is both.
 */
typedef struct {
  uv_async_t async;
  napi_env env;
  napi_ref callback;
  napi_async_context context;
} wakeup_t;

/* Calls the callback, without arguments (make_callback then runs the microtasks, so promises settle). */
static void on_wakeup(uv_async_t *handle) {
  wakeup_t *k = handle->data;
  napi_handle_scope scope;
  napi_value cb, recv, result;
  napi_open_handle_scope(k->env, &scope);
  napi_get_reference_value(k->env, k->callback, &cb);
  napi_get_global(k->env, &recv);
  napi_make_callback(k->env, k->context, recv, cb, 0, NULL, &result);
  napi_close_handle_scope(k->env, scope);
}

/* Sets up the wake-up of `owner` (whose first member it is) to call `fn`; it does not keep the loop alive. */
static napi_status wakeup_init(napi_env env, wakeup_t *k, void *owner, napi_value fn, const char *name) {
  uv_loop_t *loop;
  napi_value resource;
  napi_status status = napi_get_uv_event_loop(env, &loop);
  if (status != napi_ok) return status;
  k->env = env;
  uv_async_init(loop, &k->async, on_wakeup);
  k->async.data = owner;
  uv_unref((uv_handle_t *)&k->async);
  status = napi_create_reference(env, fn, 1, &k->callback);
  if (status == napi_ok) status = napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &resource);
  if (status == napi_ok) status = napi_async_init(env, NULL, resource, &k->context);
  return status;
}

/* Releases the wake-up; `closed` frees its owner once the loop is done with the handle. */
static void wakeup_close(napi_env env, wakeup_t *k, uv_close_cb closed) {
  napi_delete_reference(env, k->callback);
  napi_async_destroy(env, k->context);
  uv_close((uv_handle_t *)&k->async, closed);
}

typedef struct {
  wakeup_t wakeup;
  int fd;
  int wake; /* eventfd that interrupts poll() when stopping */
  pthread_t thread;
  pthread_mutex_t lock;
  pthread_cond_t room;
  uint8_t *ring;
  /* RECV_BATCH - 1 datagrams of MAX_DATAGRAM: where recvmmsg() puts all but its first. */
  uint8_t *scratch;
  size_t size;
  /* Byte counters that only grow: the thread advances head, JS advances tail. */
  _Atomic size_t head, tail;
  /* Datagrams only: records the thread stored, and records JS took. */
  _Atomic size_t stored, taken;
  /* JS found the ring empty: the next record must wake its loop. */
  _Atomic int asleep;
  /* The thread waits for room: the next release must signal it. */
  _Atomic int waiting;
  int stop;    /* under lock */
  int started; /* the thread exists and must be joined */
  /* How long records may wait before JS is woken (us; 0: at once), and,
     on the thread only, whether a wake-up is owed and since when. */
  int64_t wake_delay_us;
  int owed;
  int64_t owed_at;
  int referenced;
} reader_t;

static size_t align8(size_t n) { return (n + 7) & ~(size_t)7; }

static int64_t now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

static void wake_js(reader_t *r) {
  r->owed = 0;
  uv_async_send(&r->wakeup.async);
}

/* Waits until a record of the largest size fits contiguously; 0 when stopping. */
static int wait_for_room(reader_t *r, size_t *at) {
  for (;;) {
    size_t head = atomic_load(&r->head);
    size_t offset = head % r->size;
    /* Empty, and the start of the ring holds a whole record: the next one
       goes there, so the pages ever touched are those of the largest
       backlog, not the whole ring (a ring sized for bursts then costs
       memory only while a burst waits in it). [0, offset) was all read, so
       the record cannot reach the wrap record, which JS reads when the next
       publish() wakes it. */
    if (offset >= RECORD_HDR + MAX_DATAGRAM && head == atomic_load(&r->tail)) {
      int32_t wrap[2] = {RECORD_WRAP, 0};
      memcpy(r->ring + offset, wrap, sizeof wrap);
      atomic_store(&r->head, head + (r->size - offset));
      *at = 0;
      return 1;
    }
    size_t contiguous = r->size - offset;
    size_t need = RECORD_HDR + MAX_DATAGRAM;
    /* A record never wraps: jumping to the start costs the rest of the ring. */
    size_t want = contiguous < need ? contiguous + need : need;
    /* JS must read for room to come: a wake-up it is owed cannot wait. */
    if (r->owed && r->size - (head - atomic_load(&r->tail)) < want) wake_js(r);
    pthread_mutex_lock(&r->lock);
    atomic_store(&r->waiting, 1);
    while (!r->stop && r->size - (head - atomic_load(&r->tail)) < want)
      pthread_cond_wait(&r->room, &r->lock);
    atomic_store(&r->waiting, 0);
    int stop = r->stop;
    pthread_mutex_unlock(&r->lock);
    if (stop) return 0;
    if (contiguous >= need) { *at = offset; return 1; }
    int32_t wrap[2] = {RECORD_WRAP, 0};
    memcpy(r->ring + offset, wrap, sizeof wrap);
    atomic_store(&r->head, head + contiguous);
  }
}

/*
 * Makes `bytes` more of the ring readable, and wakes JS if it found the
 * ring empty: at once, or (with a wake delay) once the first record it has
 * not been woken for is wake_delay_us old or a quarter of the ring waits.
 * Events that come one by one then cost JS one wake-up per delay, not one
 * per event (a wake-up costs more than the event).
 */
static void publish(reader_t *r, size_t bytes) {
  size_t head = atomic_load(&r->head) + bytes;
  atomic_store(&r->head, head);
  if (atomic_exchange(&r->asleep, 0) && !r->owed) {
    r->owed = 1;
    r->owed_at = r->wake_delay_us ? now_us() : 0;
  }
  if (!r->owed) return;
  if (r->wake_delay_us == 0 || head - atomic_load(&r->tail) >= r->size / 4 || now_us() - r->owed_at >= r->wake_delay_us) wake_js(r);
}

/* Writes the header of a record whose datagram (`result` bytes, or -errno) is in place, and publishes it. */
static void put_record(reader_t *r, uint8_t *record, int32_t result) {
  int32_t hdr[2];
  hdr[0] = result;
  hdr[1] = result < 0 ? 0 : (result > MAX_DATAGRAM ? MAX_DATAGRAM : result);
  memcpy(record, hdr, sizeof hdr);
  atomic_fetch_add(&r->stored, 1);
  publish(r, RECORD_HDR + align8((uint32_t)hdr[1]));
}

static void *reader_main(void *arg) {
  reader_t *r = arg;
  struct pollfd fds[2] = {{.fd = r->fd, .events = POLLIN}, {.fd = r->wake, .events = POLLIN}};
  struct mmsghdr msgs[RECV_BATCH];
  struct iovec iovs[RECV_BATCH];
  size_t at;
  while (wait_for_room(r, &at)) {
    uint8_t *record = r->ring + at;
    memset(msgs, 0, sizeof msgs);
    for (int i = 0; i < RECV_BATCH; i++) {
      iovs[i].iov_base = i == 0 ? record + RECORD_HDR : r->scratch + (size_t)(i - 1) * MAX_DATAGRAM;
      iovs[i].iov_len = MAX_DATAGRAM;
      msgs[i].msg_hdr.msg_iov = &iovs[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    /* A failure after the first datagram is kept by the kernel for the next call, so records keep the order of events. */
    int got = recvmmsg(r->fd, msgs, RECV_BATCH, MSG_TRUNC | MSG_DONTWAIT, NULL);
    ssize_t n = got < 0 ? -1 : (ssize_t)msgs[0].msg_len;
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      /* Nothing more for now: sleep until the socket has more, or, owing
         JS a wake-up, until that is due without watching the socket: what
         comes meanwhile is read in one go then (waking for each datagram
         cost this thread more than the datagram). */
      struct timespec due, *timeout = NULL;
      if (r->owed) {
        int64_t left = r->owed_at + r->wake_delay_us - now_us();
        if (left <= 0) { wake_js(r); continue; }
        due.tv_sec = left / 1000000;
        due.tv_nsec = (left % 1000000) * 1000;
        timeout = &due;
      }
      int ready = r->owed ? ppoll(&fds[1], 1, timeout, NULL) : ppoll(fds, 2, NULL, NULL);
      if (ready < 0 && errno != EINTR) n = -1;
      else if (ready > 0 && fds[1].revents) break; /* stopping */
      else continue;
    }
    int32_t result = n < 0 ? -errno : (int32_t)n;
    put_record(r, record, result);
    /* ENOBUFS is an event (messages were dropped), anything else ends reading. */
    if (n < 0 && result != -ENOBUFS) break;
    for (int i = 1; i < got; i++) {
      if (!wait_for_room(r, &at)) return NULL;
      record = r->ring + at;
      uint32_t len = msgs[i].msg_len;
      memcpy(record + RECORD_HDR, iovs[i].iov_base, len > MAX_DATAGRAM ? MAX_DATAGRAM : len);
      put_record(r, record, (int32_t)len);
    }
  }
  return NULL;
}

static void on_readahead_closed(uv_handle_t *handle) {
  reader_t *r = handle->data;
  free(r->ring);
  free(r->scratch);
  free(r);
}

/*
 * readAheadStart(fd, ringBytes, wakeDelayUs, onReadable()) -> handle. The
 * thread starts receiving at once; onReadable runs (on the loop) when records
 * arrive after readAheadRecv found the ring empty, at most wakeDelayUs later
 * (see publish()). The handle does not keep the loop alive until
 * readAheadRef(handle, true).
 */
static napi_value js_read_ahead_start(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4], handle;
  int32_t fd, ring_bytes, wake_delay_us;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  CHECK(napi_get_value_int32(env, argv[1], &ring_bytes));
  CHECK(napi_get_value_int32(env, argv[2], &wake_delay_us));
  size_t size = align8((size_t)(ring_bytes > 0 ? ring_bytes : 0));
  if (size < 4 * (RECORD_HDR + MAX_DATAGRAM)) size = 4 * (RECORD_HDR + MAX_DATAGRAM);
  reader_t *r = calloc(1, sizeof *r);
  if (r) r->ring = malloc(size);
  if (r) r->scratch = malloc((size_t)(RECV_BATCH - 1) * MAX_DATAGRAM);
  if (!r || !r->ring || !r->scratch) {
    if (r) {
      free(r->ring);
      free(r->scratch);
      free(r);
    }
    return throw_errno(env, ENOMEM, "malloc");
  }
  r->fd = fd;
  r->size = size;
  r->wake_delay_us = wake_delay_us > 0 ? wake_delay_us : 0;
  r->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (r->wake < 0) { int e = errno; free(r->ring); free(r->scratch); free(r); return throw_errno(env, e, "eventfd"); }
  pthread_mutex_init(&r->lock, NULL);
  pthread_cond_init(&r->room, NULL);
  CHECK(wakeup_init(env, &r->wakeup, r, argv[3], "NetlinkReadAhead"));
  int e = pthread_create(&r->thread, NULL, reader_main, r);
  if (e) {
    close(r->wake);
    wakeup_close(env, &r->wakeup, on_readahead_closed);
    return throw_errno(env, e, "pthread_create");
  }
  r->started = 1;
  CHECK(napi_create_external(env, r, NULL, NULL, &handle));
  return handle;
}

/*
 * readAheadRecv(handle, buffer) -> what recvmsg(MSG_TRUNC) would have
 * returned for the next datagram (its bytes copied into buffer), or -EAGAIN
 * when none is waiting yet.
 */
static napi_value js_read_ahead_recv(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  void *data;
  size_t len;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  reader_t *r = get_external(env, argv[0]);
  CHECK(napi_get_buffer_info(env, argv[1], &data, &len));
  if (!r || !r->started) return int_value(env, -EBADF);
  for (;;) {
    size_t tail = atomic_load(&r->tail);
    if (tail == atomic_load(&r->head)) {
      atomic_store(&r->asleep, 1);
      /* Re-check: the thread may have published just before asleep was set. */
      if (tail == atomic_load(&r->head)) return int_value(env, -EAGAIN);
      atomic_store(&r->asleep, 0);
    }
    size_t offset = tail % r->size;
    int32_t hdr[2];
    memcpy(hdr, r->ring + offset, sizeof hdr);
    size_t bytes = hdr[0] == RECORD_WRAP ? r->size - offset : RECORD_HDR + align8((uint32_t)hdr[1]);
    if (hdr[0] != RECORD_WRAP) memcpy(data, r->ring + offset + RECORD_HDR, (uint32_t)hdr[1] < len ? (uint32_t)hdr[1] : len);
    atomic_store(&r->tail, tail + bytes);
    if (hdr[0] != RECORD_WRAP) atomic_fetch_add(&r->taken, 1);
    if (atomic_load(&r->waiting)) {
      pthread_mutex_lock(&r->lock);
      pthread_cond_signal(&r->room);
      pthread_mutex_unlock(&r->lock);
    }
    if (hdr[0] != RECORD_WRAP) return int_value(env, hdr[0]);
  }
}

/*
 * readAheadBacklog(handle) -> datagrams received ahead that JS has not taken
 * yet (what still sits in the socket's own buffer is not counted). A producer
 * whose every request makes an event (a bulk create on an event listener's
 * table) paces itself by it, so that the events never outgrow the buffers.
 */
static napi_value js_read_ahead_backlog(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  reader_t *r = get_external(env, argv[0]);
  if (!r || !r->started) return int_value(env, 0);
  size_t taken = atomic_load(&r->taken);
  return int_value(env, (int64_t)(atomic_load(&r->stored) - taken));
}

/* readAheadRef(handle, on): whether pending read-ahead keeps the event loop alive. */
static napi_value js_read_ahead_ref(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  bool on;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  reader_t *r = get_external(env, argv[0]);
  CHECK(napi_get_value_bool(env, argv[1], &on));
  if (!r || !r->started || r->referenced == on) return NULL;
  r->referenced = on;
  if (on) {
    uv_ref((uv_handle_t *)&r->wakeup.async);
    /* Records that arrived while nobody was reading wake no one by themselves. */
    uv_async_send(&r->wakeup.async);
  } else {
    uv_unref((uv_handle_t *)&r->wakeup.async);
  }
  return NULL;
}

/* readAheadStop(handle): stops and joins the thread; must come before close(fd). */
static napi_value js_read_ahead_stop(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  reader_t *r = get_external(env, argv[0]);
  if (!r || !r->started) return NULL;
  r->started = 0;
  pthread_mutex_lock(&r->lock);
  r->stop = 1;
  pthread_cond_signal(&r->room);
  pthread_mutex_unlock(&r->lock);
  uint64_t one = 1;
  if (write(r->wake, &one, sizeof one) < 0) abort(); /* an eventfd write cannot fail here */
  pthread_join(r->thread, NULL);
  close(r->wake);
  pthread_mutex_destroy(&r->lock);
  pthread_cond_destroy(&r->room);
  wakeup_close(env, &r->wakeup, on_readahead_closed);
  return NULL;
}

/*
 * ---- send-behind: a thread that sends while JavaScript writes ----
 *
 * The kernel makes a change inside the sendmsg() that carries its request
 * (creating an entry and broadcasting its event takes longer than writing
 * the request), so with one thread a bulk change alternates between the
 * kernel's work and ours. A writer thread sends copies of the requests, in
 * order, while JS writes the next ones: the kernel's share moves to the
 * second core. Replies still come back on the socket.
 *
 * Sends are numbered 1, 2, ... (tokens). A failed send is recorded before
 * the count of finished sends passes it, so JS, reading the count first and
 * taking the failures after, learns of every failure among the sends it
 * counts as finished.
 */
typedef struct send_item {
  struct send_item *next;
  uint32_t token;
  int32_t err; /* a failure: -errno */
  size_t len;
  uint8_t data[];
} send_item_t;

typedef struct {
  wakeup_t wakeup; /* for a failed send */
  int fd;
  pthread_t thread;
  pthread_mutex_t lock;
  pthread_cond_t more;
  /* Under lock: sends queued, in order; failed sends, in order; stopping. */
  send_item_t *first, *last, *failed_first, *failed_last;
  int stop;
  int started;
  uint32_t next_token; /* JS only */
  _Atomic uint32_t finished;
} writer_t;

static void append_item(send_item_t **first, send_item_t **last, send_item_t *item) {
  item->next = NULL;
  if (*last) (*last)->next = item;
  else *first = item;
  *last = item;
}

static void free_items(send_item_t *item) {
  while (item) {
    send_item_t *next = item->next;
    free(item);
    item = next;
  }
}

static void *writer_main(void *arg) {
  writer_t *w = arg;
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  for (;;) {
    pthread_mutex_lock(&w->lock);
    while (!w->stop && !w->first) pthread_cond_wait(&w->more, &w->lock);
    if (w->stop) { pthread_mutex_unlock(&w->lock); return NULL; }
    send_item_t *item = w->first;
    w->first = item->next;
    if (!w->first) w->last = NULL;
    pthread_mutex_unlock(&w->lock);
    struct iovec iov = {.iov_base = item->data, .iov_len = item->len};
    struct msghdr msg = {.msg_name = &kernel, .msg_namelen = sizeof kernel, .msg_iov = &iov, .msg_iovlen = 1};
    ssize_t r;
    do r = sendmsg(w->fd, &msg, 0); while (r < 0 && errno == EINTR);
    uint32_t token = item->token;
    if (r < 0) {
      item->err = -errno;
      pthread_mutex_lock(&w->lock);
      append_item(&w->failed_first, &w->failed_last, item);
      pthread_mutex_unlock(&w->lock);
      uv_async_send(&w->wakeup.async);
    } else {
      free(item);
    }
    atomic_store(&w->finished, token);
  }
}

static void on_writer_closed(uv_handle_t *handle) {
  writer_t *w = handle->data;
  free_items(w->first);
  free_items(w->failed_first);
  free(w);
}

/*
 * writerStart(fd, onFailure()) -> handle. onFailure runs (on the loop) after
 * a send failed; writerFailures() says which. The handle never keeps the
 * loop alive: the replies the sends wait for do.
 */
static napi_value js_writer_start(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], handle;
  int32_t fd;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  writer_t *w = calloc(1, sizeof *w);
  if (!w) return throw_errno(env, ENOMEM, "calloc");
  w->fd = fd;
  pthread_mutex_init(&w->lock, NULL);
  pthread_cond_init(&w->more, NULL);
  CHECK(wakeup_init(env, &w->wakeup, w, argv[1], "NetlinkWriter"));
  int e = pthread_create(&w->thread, NULL, writer_main, w);
  if (e) {
    wakeup_close(env, &w->wakeup, on_writer_closed);
    return throw_errno(env, e, "pthread_create");
  }
  w->started = 1;
  CHECK(napi_create_external(env, w, NULL, NULL, &handle));
  return handle;
}

/* writerSend(handle, buffers[]) -> the send's token, or -errno. The bytes are copied: the buffers may be reused at once. */
static napi_value js_writer_send(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  uint32_t n;
  void *data[MAX_SEND_BUFFERS];
  size_t lens[MAX_SEND_BUFFERS], total = 0;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  writer_t *w = get_external(env, argv[0]);
  if (!w || !w->started) return int_value(env, -EBADF);
  CHECK(napi_get_array_length(env, argv[1], &n));
  if (n > MAX_SEND_BUFFERS) return int_value(env, -EMSGSIZE);
  for (uint32_t i = 0; i < n; i++) {
    napi_value b;
    CHECK(napi_get_element(env, argv[1], i, &b));
    CHECK(napi_get_buffer_info(env, b, &data[i], &lens[i]));
    total += lens[i];
  }
  send_item_t *item = malloc(sizeof *item + total);
  if (!item) return int_value(env, -ENOMEM);
  item->len = total;
  item->err = 0;
  for (uint32_t i = 0, at = 0; i < n; at += lens[i], i++) memcpy(item->data + at, data[i], lens[i]);
  item->token = ++w->next_token;
  pthread_mutex_lock(&w->lock);
  append_item(&w->first, &w->last, item);
  pthread_cond_signal(&w->more);
  pthread_mutex_unlock(&w->lock);
  return int_value(env, item->token);
}

/* writerFinished(handle) -> the token of the last send finished (sent or failed); 0 before any. */
static napi_value js_writer_finished(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  writer_t *w = get_external(env, argv[0]);
  return int_value(env, w ? atomic_load(&w->finished) : 0);
}

/* writerFailures(handle) -> [token, -errno, token, -errno, ...] of the sends that failed since the last call. */
static napi_value js_writer_failures(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], list;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  writer_t *w = get_external(env, argv[0]);
  CHECK(napi_create_array(env, &list));
  if (!w) return list;
  pthread_mutex_lock(&w->lock);
  send_item_t *failed = w->failed_first;
  w->failed_first = w->failed_last = NULL;
  pthread_mutex_unlock(&w->lock);
  uint32_t i = 0;
  for (send_item_t *f = failed; f; f = f->next) {
    napi_set_element(env, list, i++, int_value(env, f->token));
    napi_set_element(env, list, i++, int_value(env, f->err));
  }
  free_items(failed);
  return list;
}

/* writerStop(handle): stops and joins the thread, dropping the sends not made; must come before close(fd). */
static napi_value js_writer_stop(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  writer_t *w = get_external(env, argv[0]);
  if (!w || !w->started) return NULL;
  w->started = 0;
  pthread_mutex_lock(&w->lock);
  w->stop = 1;
  pthread_cond_signal(&w->more);
  pthread_mutex_unlock(&w->lock);
  pthread_join(w->thread, NULL);
  pthread_mutex_destroy(&w->lock);
  pthread_cond_destroy(&w->more);
  wakeup_close(env, &w->wakeup, on_writer_closed);
  return NULL;
}

/*
 * populate(buffer, offset, length) -> 0 or -errno: maps the pages of that
 * range now, in one system call (MADV_POPULATE_WRITE), instead of one page
 * fault per page as they are first written. In a virtual machine a page
 * fault costs ~15 us here and populating ~6 us a page all told: worth it
 * for memory that is about to be filled, such as a cache's arena. Only
 * whole pages inside the range are touched; their contents do not change.
 */
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
static napi_value js_populate(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  void *data;
  size_t len;
  int64_t offset, length;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  CHECK(napi_get_buffer_info(env, argv[0], &data, &len));
  CHECK(napi_get_value_int64(env, argv[1], &offset));
  CHECK(napi_get_value_int64(env, argv[2], &length));
  if (offset < 0 || length < 0 || (size_t)offset > len || (size_t)length > len - (size_t)offset) return int_value(env, -EINVAL);
  uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
  uintptr_t start = ((uintptr_t)data + (uintptr_t)offset + page - 1) & ~(page - 1);
  uintptr_t end = ((uintptr_t)data + (uintptr_t)offset + (uintptr_t)length) & ~(page - 1);
  if (end <= start) return int_value(env, 0);
  return int_value(env, madvise((void *)start, end - start, MADV_POPULATE_WRITE) < 0 ? -errno : 0);
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_default, NULL},
      {"bind", NULL, js_bind, NULL, NULL, NULL, napi_default, NULL},
      {"setsockopt", NULL, js_setsockopt, NULL, NULL, NULL, napi_default, NULL},
      {"getsockopt", NULL, js_getsockopt, NULL, NULL, NULL, napi_default, NULL},
      {"getsockoptBuffer", NULL, js_getsockopt_buffer, NULL, NULL, NULL, napi_default, NULL},
      {"attachFilter", NULL, js_attach_filter, NULL, NULL, NULL, napi_default, NULL},
      {"send", NULL, js_send, NULL, NULL, NULL, napi_default, NULL},
      {"recv", NULL, js_recv, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
      {"unixDatagramSend", NULL, js_unix_datagram_send, NULL, NULL, NULL, napi_default, NULL},
      {"pollCreate", NULL, js_poll_create, NULL, NULL, NULL, napi_default, NULL},
      {"pollStart", NULL, js_poll_start, NULL, NULL, NULL, napi_default, NULL},
      {"pollStop", NULL, js_poll_stop, NULL, NULL, NULL, napi_default, NULL},
      {"pollClose", NULL, js_poll_close, NULL, NULL, NULL, napi_default, NULL},
      {"readAheadStart", NULL, js_read_ahead_start, NULL, NULL, NULL, napi_default, NULL},
      {"readAheadRecv", NULL, js_read_ahead_recv, NULL, NULL, NULL, napi_default, NULL},
      {"readAheadBacklog", NULL, js_read_ahead_backlog, NULL, NULL, NULL, napi_default, NULL},
      {"readAheadRef", NULL, js_read_ahead_ref, NULL, NULL, NULL, napi_default, NULL},
      {"readAheadStop", NULL, js_read_ahead_stop, NULL, NULL, NULL, napi_default, NULL},
      {"populate", NULL, js_populate, NULL, NULL, NULL, napi_default, NULL},
      {"writerStart", NULL, js_writer_start, NULL, NULL, NULL, napi_default, NULL},
      {"writerSend", NULL, js_writer_send, NULL, NULL, NULL, napi_default, NULL},
      {"writerFinished", NULL, js_writer_finished, NULL, NULL, NULL, napi_default, NULL},
      {"writerFailures", NULL, js_writer_failures, NULL, NULL, NULL, napi_default, NULL},
      {"writerStop", NULL, js_writer_stop, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok)
    return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
