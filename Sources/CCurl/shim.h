#include <curl/curl.h>
#include <dlfcn.h>
#include <stddef.h>

// libcurl is opened with dlopen on the first request, not linked: a run with nothing due (the
// timer's common case) never loads it and its twenty-odd dependencies (TLS, HTTP/2, IDN, ...).
// The shim holds that table and typed wrappers for the variadic calls Swift cannot make.
typedef struct {
    CURLcode (*global_init)(long);
    CURLM *(*multi_init)(void);
    CURLMcode (*multi_setopt)(CURLM *, CURLMoption, ...);
    CURLMcode (*multi_add_handle)(CURLM *, CURL *);
    CURLMcode (*multi_remove_handle)(CURLM *, CURL *);
    CURLMcode (*multi_perform)(CURLM *, int *);
    CURLMcode (*multi_poll)(CURLM *, struct curl_waitfd[], unsigned int, int, int *);
    CURLMsg *(*multi_info_read)(CURLM *, int *);
    CURLMcode (*multi_cleanup)(CURLM *);
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
    CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
    const char *(*easy_strerror)(CURLcode);
    void (*easy_cleanup)(CURL *);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
} pj_curl_api;

static inline pj_curl_api *pj_curl(void) {
    static pj_curl_api api;
    return &api;
}

// Opens libcurl once. NULL on success, else what went wrong (for a one-line error).
static inline const char *pj_curl_load(void) {
    pj_curl_api *api = pj_curl();
    if (api->slist_free_all) return NULL;
    void *library = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (!library) return dlerror();
#define PJ_LOAD(field, symbol) \
    if (!(*(void **)&api->field = dlsym(library, symbol))) return "libcurl.so.4 has no " symbol;
    PJ_LOAD(global_init, "curl_global_init")
    PJ_LOAD(multi_init, "curl_multi_init")
    PJ_LOAD(multi_setopt, "curl_multi_setopt")
    PJ_LOAD(multi_add_handle, "curl_multi_add_handle")
    PJ_LOAD(multi_remove_handle, "curl_multi_remove_handle")
    PJ_LOAD(multi_perform, "curl_multi_perform")
    PJ_LOAD(multi_poll, "curl_multi_poll")
    PJ_LOAD(multi_info_read, "curl_multi_info_read")
    PJ_LOAD(multi_cleanup, "curl_multi_cleanup")
    PJ_LOAD(easy_init, "curl_easy_init")
    PJ_LOAD(easy_setopt, "curl_easy_setopt")
    PJ_LOAD(easy_getinfo, "curl_easy_getinfo")
    PJ_LOAD(easy_strerror, "curl_easy_strerror")
    PJ_LOAD(easy_cleanup, "curl_easy_cleanup")
    PJ_LOAD(slist_append, "curl_slist_append")
    PJ_LOAD(slist_free_all, "curl_slist_free_all")  // last: its presence marks the table complete
#undef PJ_LOAD
    return NULL;
}

static inline CURLcode pj_global_init(long flags) { return pj_curl()->global_init(flags); }
static inline CURLM *pj_multi_init(void) { return pj_curl()->multi_init(); }
static inline CURLMcode pj_multi_setopt_long(CURLM *m, CURLMoption o, long v) { return pj_curl()->multi_setopt(m, o, v); }
static inline CURLMcode pj_multi_add_handle(CURLM *m, CURL *h) { return pj_curl()->multi_add_handle(m, h); }
static inline CURLMcode pj_multi_remove_handle(CURLM *m, CURL *h) { return pj_curl()->multi_remove_handle(m, h); }
static inline CURLMcode pj_multi_perform(CURLM *m, int *running) { return pj_curl()->multi_perform(m, running); }
static inline CURLMcode pj_multi_poll(CURLM *m, struct curl_waitfd *fds, unsigned int count, int ms, int *ready) {
    return pj_curl()->multi_poll(m, fds, count, ms, ready);
}
static inline CURLMsg *pj_multi_info_read(CURLM *m, int *left) { return pj_curl()->multi_info_read(m, left); }
static inline CURLMcode pj_multi_cleanup(CURLM *m) { return pj_curl()->multi_cleanup(m); }
static inline CURL *pj_easy_init(void) { return pj_curl()->easy_init(); }
static inline const char *pj_easy_strerror(CURLcode code) { return pj_curl()->easy_strerror(code); }
static inline void pj_easy_cleanup(CURL *h) { pj_curl()->easy_cleanup(h); }
static inline struct curl_slist *pj_slist_append(struct curl_slist *list, const char *text) { return pj_curl()->slist_append(list, text); }
static inline void pj_slist_free_all(struct curl_slist *list) { pj_curl()->slist_free_all(list); }
static inline CURLcode pj_easy_setopt_long(CURL *h, CURLoption o, long v) { return pj_curl()->easy_setopt(h, o, v); }
static inline CURLcode pj_easy_setopt_off(CURL *h, CURLoption o, curl_off_t v) { return pj_curl()->easy_setopt(h, o, v); }
static inline CURLcode pj_easy_setopt_ptr(CURL *h, CURLoption o, const void *v) { return pj_curl()->easy_setopt(h, o, v); }
static inline CURLcode pj_easy_setopt_str(CURL *h, CURLoption o, const char *v) { return pj_curl()->easy_setopt(h, o, v); }
static inline CURLcode pj_easy_setopt_write(CURL *h, CURLoption o, curl_write_callback v) { return pj_curl()->easy_setopt(h, o, v); }
static inline CURLcode pj_easy_setopt_seek(CURL *h, CURLoption o, curl_seek_callback v) { return pj_curl()->easy_setopt(h, o, v); }
static inline CURLcode pj_easy_getinfo_long(CURL *h, CURLINFO i, long *v) { return pj_curl()->easy_getinfo(h, i, v); }
static inline CURLcode pj_easy_getinfo_off(CURL *h, CURLINFO i, curl_off_t *v) { return pj_curl()->easy_getinfo(h, i, v); }
static inline CURLcode pj_easy_getinfo_ptr(CURL *h, CURLINFO i, void **v) { return pj_curl()->easy_getinfo(h, i, v); }
