#include <microhttpd.h>
#include <dlfcn.h>
#include <stddef.h>

// libmicrohttpd is opened with dlopen when --http is given, not linked: a process without it
// never loads the library. The shim holds that table and a typed wrapper for the variadic
// MHD_start_daemon, which Swift cannot call.
typedef struct {
    struct MHD_Daemon *(*start_daemon)(unsigned int, uint16_t, MHD_AcceptPolicyCallback, void *,
                                       MHD_AccessHandlerCallback, void *, ...);
    void (*stop_daemon)(struct MHD_Daemon *);
    struct MHD_Response *(*create_response_from_buffer)(size_t, void *, enum MHD_ResponseMemoryMode);
    enum MHD_Result (*add_response_header)(struct MHD_Response *, const char *, const char *);
    enum MHD_Result (*queue_response)(struct MHD_Connection *, unsigned int, struct MHD_Response *);
    void (*destroy_response)(struct MHD_Response *);
} pj_mhd_api;

static inline pj_mhd_api *pj_mhd(void) {
    static pj_mhd_api api;
    return &api;
}

// Opens libmicrohttpd once. NULL on success, else what went wrong (for a one-line error).
static inline const char *pj_mhd_load(void) {
    pj_mhd_api *api = pj_mhd();
    if (api->destroy_response) return NULL;
    void *library = dlopen("libmicrohttpd.so.12", RTLD_NOW | RTLD_LOCAL);
    if (!library) return dlerror();
#define PJ_LOAD(field, symbol) \
    if (!(*(void **)&api->field = dlsym(library, symbol))) return "libmicrohttpd.so.12 has no " symbol;
    PJ_LOAD(start_daemon, "MHD_start_daemon")
    PJ_LOAD(stop_daemon, "MHD_stop_daemon")
    PJ_LOAD(create_response_from_buffer, "MHD_create_response_from_buffer")
    PJ_LOAD(add_response_header, "MHD_add_response_header")
    PJ_LOAD(queue_response, "MHD_queue_response")
    PJ_LOAD(destroy_response, "MHD_destroy_response")  // last: its presence marks the table complete
#undef PJ_LOAD
    return NULL;
}

// Serves on `listen_fd` (bound and listening already, so a bind failure is reported by the
// caller with errno) from libmicrohttpd's own thread. Connections idle for 10 s are closed and
// at most 32 are open at once: a probe and a scraper need few. No error log: libmicrohttpd must
// not write to our stderr.
static inline struct MHD_Daemon *pj_mhd_start(int listen_fd, MHD_AccessHandlerCallback handler, void *context) {
    return pj_mhd()->start_daemon(MHD_USE_AUTO_INTERNAL_THREAD, 0, NULL, NULL, handler, context,
                                  MHD_OPTION_LISTEN_SOCKET, (MHD_socket)listen_fd,
                                  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)10,
                                  MHD_OPTION_CONNECTION_LIMIT, (unsigned int)32,
                                  MHD_OPTION_END);
}

static inline void pj_mhd_stop(struct MHD_Daemon *daemon) { pj_mhd()->stop_daemon(daemon); }

// Queues `size` bytes (copied) with `status` and a Content-Type; MHD_YES when queued.
static inline enum MHD_Result pj_mhd_respond(struct MHD_Connection *connection, unsigned int status,
                                             const char *content_type, const char *body, size_t size) {
    pj_mhd_api *api = pj_mhd();
    struct MHD_Response *response = api->create_response_from_buffer(size, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!response) return MHD_NO;
    api->add_response_header(response, "Content-Type", content_type);
    api->add_response_header(response, "Cache-Control", "no-store");
    enum MHD_Result queued = api->queue_response(connection, status, response);
    api->destroy_response(response);
    return queued;
}
