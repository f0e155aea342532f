/*
 * pcap_live: egressd's live capture addon. Plain C over N-API and libuv.
 *
 * One handle per interface. libpcap runs non-blocking; a uv_poll on its selectable fd
 * wakes us, and each wakeup copies as many packets as fit into one JS-provided batch
 * buffer, then makes ONE call into JS: onBatch(bytesUsed, packetCount). Per-packet work
 * stays in C; JS walks the batch itself.
 *
 * Batch record layout (host byte order, no padding):
 *   u32 tsSec, u32 tsNsec, u32 capLen, u32 origLen, capLen bytes of frame.
 *
 * Exports:
 *   open({device, snaplen, promiscuous, bufferBytes, immediate, timeoutMs, filter}, ArrayBuffer)
 *     -> handle {linkType, snaplen, nanosecond, warning, start(onBatch, onError), stats(), close()}
 *     throws Error with .code: PERM_DENIED | NO_SUCH_DEVICE | IFACE_NOT_UP | FILTER | ERROR
 *   libVersion() -> pcap_lib_version()
 */

#include <node_api.h>
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#define RECORD_HEADER 16

typedef struct live_handle {
  napi_env env;
  pcap_t *pcap;
  uv_poll_t poll;
  int poll_started;
  /* The JS batch buffer: kept alive by buffer_ref while the handle exists. */
  napi_ref buffer_ref;
  uint8_t *buf;
  size_t buf_len;
  size_t used;
  uint32_t count;
  /* The largest record a packet can need: header + snaplen. */
  size_t max_record;
  int nanosecond;
  napi_ref on_batch;
  napi_ref on_error;
  napi_async_context async_ctx;
  int closed;
  /* Freed when both the JS wrapper is finalized and the uv handle has closed. */
  int js_alive;
  int uv_alive;
} live_handle;

#define CHECK(call)                                                                  \
  do {                                                                               \
    if ((call) != napi_ok) {                                                         \
      const napi_extended_error_info *info = NULL;                                   \
      napi_get_last_error_info(env, &info);                                          \
      napi_throw_error(env, NULL,                                                    \
                       info && info->error_message ? info->error_message : #call);   \
      return NULL;                                                                   \
    }                                                                                \
  } while (0)

static void maybe_free(live_handle *h) {
  if (!h->js_alive && !h->uv_alive) free(h);
}

static void on_uv_closed(uv_handle_t *handle) {
  live_handle *h = (live_handle *)handle->data;
  h->uv_alive = 0;
  maybe_free(h);
}

/* Releases everything but the struct itself; safe to call twice. */
static void do_close(live_handle *h) {
  if (h->closed) return;
  h->closed = 1;
  napi_env env = h->env;
  if (h->poll_started) {
    uv_poll_stop(&h->poll);
    h->poll_started = 0;
  }
  if (h->uv_alive) uv_close((uv_handle_t *)&h->poll, on_uv_closed);
  if (h->pcap != NULL) {
    pcap_close(h->pcap);
    h->pcap = NULL;
  }
  if (h->on_batch != NULL) napi_delete_reference(env, h->on_batch);
  if (h->on_error != NULL) napi_delete_reference(env, h->on_error);
  if (h->buffer_ref != NULL) napi_delete_reference(env, h->buffer_ref);
  if (h->async_ctx != NULL) napi_async_destroy(env, h->async_ctx);
  h->on_batch = h->on_error = h->buffer_ref = NULL;
  h->async_ctx = NULL;
  h->buf = NULL;
}

static void finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  live_handle *h = (live_handle *)data;
  /* Never closed by JS: the loop would keep it alive, but a torn-down env may get here. */
  do_close(h);
  h->js_alive = 0;
  maybe_free(h);
}

/* Calls a stored JS function with argc numbers/values inside the handle's async context. */
static void call_js(live_handle *h, napi_ref fn_ref, size_t argc, napi_value *argv) {
  napi_env env = h->env;
  napi_handle_scope scope;
  napi_value fn, recv, result;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  if (napi_get_reference_value(env, fn_ref, &fn) == napi_ok && fn != NULL &&
      napi_get_global(env, &recv) == napi_ok) {
    napi_status st = napi_make_callback(env, h->async_ctx, recv, fn, argc, argv, &result);
    if (st == napi_pending_exception) {
      napi_value err;
      napi_get_and_clear_last_exception(env, &err);
      napi_fatal_exception(env, err);
    }
  }
  napi_close_handle_scope(env, scope);
}

static void deliver_batch(live_handle *h) {
  napi_env env = h->env;
  napi_handle_scope scope;
  napi_value argv[2];
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_create_uint32(env, (uint32_t)h->used, &argv[0]);
  napi_create_uint32(env, h->count, &argv[1]);
  h->used = 0;
  h->count = 0;
  call_js(h, h->on_batch, 2, argv);
  napi_close_handle_scope(env, scope);
}

static void deliver_error(live_handle *h, const char *message) {
  napi_env env = h->env;
  napi_handle_scope scope;
  napi_value argv[1];
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &argv[0]);
  call_js(h, h->on_error, 1, argv);
  napi_close_handle_scope(env, scope);
}

static void copy_packet(u_char *user, const struct pcap_pkthdr *hdr, const u_char *data) {
  live_handle *h = (live_handle *)user;
  uint8_t *p = h->buf + h->used;
  uint32_t rec[4];
  rec[0] = (uint32_t)hdr->ts.tv_sec;
  /* With nanosecond precision libpcap puts nanoseconds in tv_usec. */
  rec[1] = h->nanosecond ? (uint32_t)hdr->ts.tv_usec : (uint32_t)hdr->ts.tv_usec * 1000u;
  rec[2] = hdr->caplen;
  rec[3] = hdr->len;
  memcpy(p, rec, RECORD_HEADER);
  memcpy(p + RECORD_HEADER, data, hdr->caplen);
  h->used += RECORD_HEADER + hdr->caplen;
  h->count++;
}

/*
 * One wakeup: fill the batch buffer until libpcap has nothing more or the next packet
 * might not fit, then one call into JS. Packets left behind keep the fd readable (uv_poll
 * is level-triggered), so the next loop iteration continues; timers and I/O get their
 * turn in between.
 */
static void on_readable(uv_poll_t *poll, int status, int events) {
  (void)events;
  live_handle *h = (live_handle *)poll->data;
  if (h->closed) return;
  int failed = 0;
  char message[PCAP_ERRBUF_SIZE + 64];
  /* A socket error (interface down or gone) arrives as POLLERR, which libuv reports as
   * status EBADF and stops polling: read on anyway, so libpcap says what happened. */
  while (!failed) {
    size_t room = (h->buf_len - h->used) / h->max_record;
    if (room == 0) break;
    /* Every one of `room` packets fits, whatever its length. */
    int n = pcap_dispatch(h->pcap, (int)(room > 1 << 20 ? 1 << 20 : room), copy_packet,
                          (u_char *)h);
    if (n == 0) break;
    if (n < 0) {
      snprintf(message, sizeof message, "%s", pcap_geterr(h->pcap));
      failed = 1;
    }
  }
  if (status < 0 && !failed) {
    /* libpcap 1.10 reads ENETDOWN as "may come back" and returns 0: say it plainly. */
    snprintf(message, sizeof message, "the interface went down (poll: %s)",
             uv_strerror(status));
    failed = 1;
  }
  if (h->count > 0) deliver_batch(h);
  if (failed && !h->closed) {
    /* The handle is dead (interface down or gone): stop polling, let JS close it. */
    if (h->poll_started) {
      uv_poll_stop(&h->poll);
      h->poll_started = 0;
    }
    deliver_error(h, message);
  }
}

static live_handle *unwrap_this(napi_env env, napi_callback_info info, size_t *argc,
                                napi_value *argv) {
  napi_value self;
  void *data = NULL;
  if (napi_get_cb_info(env, info, argc, argv, &self, NULL) != napi_ok) return NULL;
  if (napi_unwrap(env, self, &data) != napi_ok) return NULL;
  return (live_handle *)data;
}

static napi_value js_start(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  live_handle *h = unwrap_this(env, info, &argc, argv);
  if (h == NULL) {
    napi_throw_error(env, NULL, "not a capture handle");
    return NULL;
  }
  if (h->closed) {
    napi_throw_error(env, NULL, "capture handle is closed");
    return NULL;
  }
  if (h->on_batch != NULL) {
    napi_throw_error(env, NULL, "capture already started");
    return NULL;
  }
  napi_valuetype t0, t1;
  CHECK(napi_typeof(env, argv[0], &t0));
  CHECK(napi_typeof(env, argv[1], &t1));
  if (argc < 2 || t0 != napi_function || t1 != napi_function) {
    napi_throw_type_error(env, NULL, "start(onBatch, onError) takes two functions");
    return NULL;
  }
  CHECK(napi_create_reference(env, argv[0], 1, &h->on_batch));
  CHECK(napi_create_reference(env, argv[1], 1, &h->on_error));
  int rc = uv_poll_start(&h->poll, UV_READABLE, on_readable);
  if (rc != 0) {
    napi_throw_error(env, NULL, uv_strerror(rc));
    return NULL;
  }
  h->poll_started = 1;
  return NULL;
}

static napi_value set_number(napi_env env, napi_value obj, const char *name, double v) {
  napi_value n;
  CHECK(napi_create_double(env, v, &n));
  CHECK(napi_set_named_property(env, obj, name, n));
  return obj;
}

static napi_value js_stats(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  live_handle *h = unwrap_this(env, info, &argc, NULL);
  if (h == NULL || h->closed) {
    napi_throw_error(env, NULL, "capture handle is closed");
    return NULL;
  }
  struct pcap_stat ps;
  if (pcap_stats(h->pcap, &ps) != 0) {
    napi_throw_error(env, NULL, pcap_geterr(h->pcap));
    return NULL;
  }
  napi_value obj;
  CHECK(napi_create_object(env, &obj));
  if (set_number(env, obj, "received", ps.ps_recv) == NULL) return NULL;
  if (set_number(env, obj, "dropped", ps.ps_drop) == NULL) return NULL;
  if (set_number(env, obj, "ifdropped", ps.ps_ifdrop) == NULL) return NULL;
  return obj;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  live_handle *h = unwrap_this(env, info, &argc, NULL);
  if (h == NULL) return NULL;
  /*
   * Closing from inside onBatch is safe as is: on_readable touches only the struct after
   * the call (freed only once the JS wrapper is finalized too), and checks `closed`.
   */
  do_close(h);
  return NULL;
}

static int get_prop(napi_env env, napi_value obj, const char *name, napi_value *out,
                    napi_valuetype *type) {
  if (napi_get_named_property(env, obj, name, out) != napi_ok) return 0;
  if (napi_typeof(env, *out, type) != napi_ok) return 0;
  return 1;
}

static int get_int(napi_env env, napi_value obj, const char *name, int fallback) {
  napi_value v;
  napi_valuetype t;
  int32_t n;
  if (!get_prop(env, obj, name, &v, &t) || t != napi_number) return fallback;
  if (napi_get_value_int32(env, v, &n) != napi_ok) return fallback;
  return n;
}

static int get_bool(napi_env env, napi_value obj, const char *name, int fallback) {
  napi_value v;
  napi_valuetype t;
  bool b;
  if (!get_prop(env, obj, name, &v, &t) || t != napi_boolean) return fallback;
  if (napi_get_value_bool(env, v, &b) != napi_ok) return fallback;
  return b ? 1 : 0;
}

/* Returns a malloc'd string or NULL when absent/empty. */
static char *get_string(napi_env env, napi_value obj, const char *name) {
  napi_value v;
  napi_valuetype t;
  size_t len;
  if (!get_prop(env, obj, name, &v, &t) || t != napi_string) return NULL;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok || len == 0) return NULL;
  char *s = malloc(len + 1);
  if (s == NULL) return NULL;
  napi_get_value_string_utf8(env, v, s, len + 1, &len);
  return s;
}

static void throw_coded(napi_env env, const char *code, const char *message) {
  napi_value c, m, err;
  napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &c);
  napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &m);
  napi_create_error(env, c, m, &err);
  napi_throw(env, err);
}

static const char *activate_code(int rc) {
  switch (rc) {
    case PCAP_ERROR_PERM_DENIED:
    case PCAP_ERROR_PROMISC_PERM_DENIED:
      return "PERM_DENIED";
    case PCAP_ERROR_NO_SUCH_DEVICE:
      return "NO_SUCH_DEVICE";
    case PCAP_ERROR_IFACE_NOT_UP:
      return "IFACE_NOT_UP";
    default:
      return "ERROR";
  }
}

static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  napi_valuetype t;
  bool is_ab = false;
  if (argc < 2 || napi_typeof(env, argv[0], &t) != napi_ok || t != napi_object ||
      napi_is_arraybuffer(env, argv[1], &is_ab) != napi_ok || !is_ab) {
    napi_throw_type_error(env, NULL, "open(options, ArrayBuffer)");
    return NULL;
  }
  napi_value opts = argv[0];
  void *ab_data;
  size_t ab_len;
  CHECK(napi_get_arraybuffer_info(env, argv[1], &ab_data, &ab_len));

  char *device = get_string(env, opts, "device");
  char *filter = get_string(env, opts, "filter");
  int snaplen = get_int(env, opts, "snaplen", 262144);
  int promisc = get_bool(env, opts, "promiscuous", 1);
  int buffer_bytes = get_int(env, opts, "bufferBytes", 0);
  int immediate = get_bool(env, opts, "immediate", 0);
  int timeout_ms = get_int(env, opts, "timeoutMs", 100);
  char errbuf[PCAP_ERRBUF_SIZE] = "";
  char message[PCAP_ERRBUF_SIZE * 2 + 256];
  pcap_t *p = NULL;
  live_handle *h = NULL;

  if (device == NULL) {
    napi_throw_type_error(env, NULL, "options.device is required");
    goto fail;
  }
  if (snaplen <= 0 || (size_t)snaplen + RECORD_HEADER > ab_len) {
    napi_throw_range_error(env, NULL, "the batch buffer must hold at least one snaplen record");
    goto fail;
  }
  p = pcap_create(device, errbuf);
  if (p == NULL) {
    throw_coded(env, "ERROR", errbuf);
    goto fail;
  }
  pcap_set_snaplen(p, snaplen);
  pcap_set_promisc(p, promisc);
  if (buffer_bytes > 0) pcap_set_buffer_size(p, buffer_bytes);
  pcap_set_immediate_mode(p, immediate);
  /* With TPACKET_V3 this is the kernel's block retire timeout: packets sitting in a
   * part-filled block make the fd readable after at most this long. */
  pcap_set_timeout(p, timeout_ms);
  int nanosecond = pcap_set_tstamp_precision(p, PCAP_TSTAMP_PRECISION_NANO) == 0;

  int rc = pcap_activate(p);
  const char *warning = NULL;
  if (rc < 0) {
    const char *text = pcap_geterr(p);
    /* pcap_geterr is empty for some codes; pcap_statustostr always says something. */
    snprintf(message, sizeof message, "%s: %s", device,
             text != NULL && text[0] != '\0' ? text : pcap_statustostr(rc));
    throw_coded(env, activate_code(rc), message);
    goto fail;
  }
  if (rc > 0) warning = rc == PCAP_WARNING ? pcap_geterr(p) : pcap_statustostr(rc);
  if (nanosecond) nanosecond = pcap_get_tstamp_precision(p) == PCAP_TSTAMP_PRECISION_NANO;

  if (pcap_setnonblock(p, 1, errbuf) != 0) {
    throw_coded(env, "ERROR", errbuf);
    goto fail;
  }
  if (filter != NULL) {
    struct bpf_program prog;
    if (pcap_compile(p, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) != 0) {
      throw_coded(env, "FILTER", pcap_geterr(p));
      goto fail;
    }
    int set = pcap_setfilter(p, &prog);
    pcap_freecode(&prog);
    if (set != 0) {
      throw_coded(env, "FILTER", pcap_geterr(p));
      goto fail;
    }
  }
  free(device);
  free(filter);
  device = filter = NULL;
  int fd = pcap_get_selectable_fd(p);
  if (fd < 0) {
    throw_coded(env, "ERROR", "libpcap has no selectable descriptor for this device");
    goto fail;
  }

  h = calloc(1, sizeof *h);
  if (h == NULL) {
    throw_coded(env, "ERROR", "out of memory");
    goto fail;
  }
  h->env = env;
  h->pcap = p;
  h->buf = ab_data;
  h->buf_len = ab_len;
  h->max_record = RECORD_HEADER + (size_t)pcap_snapshot(p);
  h->nanosecond = nanosecond;
  uv_loop_t *loop;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok ||
      uv_poll_init(loop, &h->poll, fd) != 0) {
    throw_coded(env, "ERROR", "uv_poll_init failed");
    free(h);
    goto fail;
  }
  h->poll.data = h;
  h->uv_alive = 1;
  h->js_alive = 1;
  p = NULL; /* owned by h from here */

  napi_value obj, name, fn;
  CHECK(napi_create_object(env, &obj));
  CHECK(napi_wrap(env, obj, h, finalize, NULL, NULL));
  CHECK(napi_create_reference(env, argv[1], 1, &h->buffer_ref));
  CHECK(napi_create_string_utf8(env, "egressd.pcap", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_async_init(env, NULL, name, &h->async_ctx));
  if (set_number(env, obj, "linkType", pcap_datalink(h->pcap)) == NULL) return NULL;
  if (set_number(env, obj, "snaplen", pcap_snapshot(h->pcap)) == NULL) return NULL;
  napi_value b;
  CHECK(napi_get_boolean(env, nanosecond, &b));
  CHECK(napi_set_named_property(env, obj, "nanosecond", b));
  napi_value w;
  if (warning != NULL) {
    CHECK(napi_create_string_utf8(env, warning, NAPI_AUTO_LENGTH, &w));
  } else {
    CHECK(napi_get_null(env, &w));
  }
  CHECK(napi_set_named_property(env, obj, "warning", w));
  CHECK(napi_create_function(env, "start", NAPI_AUTO_LENGTH, js_start, NULL, &fn));
  CHECK(napi_set_named_property(env, obj, "start", fn));
  CHECK(napi_create_function(env, "stats", NAPI_AUTO_LENGTH, js_stats, NULL, &fn));
  CHECK(napi_set_named_property(env, obj, "stats", fn));
  CHECK(napi_create_function(env, "close", NAPI_AUTO_LENGTH, js_close, NULL, &fn));
  CHECK(napi_set_named_property(env, obj, "close", fn));
  return obj;

fail:
  if (p != NULL) pcap_close(p);
  free(device);
  free(filter);
  return NULL;
}

static napi_value js_lib_version(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value v;
  CHECK(napi_create_string_utf8(env, pcap_lib_version(), NAPI_AUTO_LENGTH, &v));
  return v;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  if (napi_create_function(env, "open", NAPI_AUTO_LENGTH, js_open, NULL, &fn) != napi_ok ||
      napi_set_named_property(env, exports, "open", fn) != napi_ok)
    return NULL;
  if (napi_create_function(env, "libVersion", NAPI_AUTO_LENGTH, js_lib_version, NULL, &fn) !=
          napi_ok ||
      napi_set_named_property(env, exports, "libVersion", fn) != napi_ok)
    return NULL;
  return exports;
}
