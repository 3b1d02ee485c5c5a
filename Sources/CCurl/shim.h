#ifndef TESP_CCURL_SHIM_H
#define TESP_CCURL_SHIM_H

#include <curl/curl.h>

// curl_easy_setopt and curl_easy_getinfo are variadic, which Swift cannot call: these typed wrappers can be.

/// The signature of CURLOPT_WRITEFUNCTION, CURLOPT_READFUNCTION and CURLOPT_HEADERFUNCTION callbacks.
typedef size_t (*tesp_curl_data_callback)(char *_Nullable ptr, size_t size, size_t nmemb, void *_Nullable userdata);

static inline CURLcode tesp_curl_setopt_long(CURL *_Nonnull handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode tesp_curl_setopt_off_t(CURL *_Nonnull handle, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode tesp_curl_setopt_string(CURL *_Nonnull handle, CURLoption option, const char *_Nullable value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode tesp_curl_setopt_pointer(CURL *_Nonnull handle, CURLoption option, void *_Nullable value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode tesp_curl_setopt_slist(CURL *_Nonnull handle, CURLoption option, struct curl_slist *_Nullable value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode tesp_curl_setopt_callback(CURL *_Nonnull handle, CURLoption option, tesp_curl_data_callback _Nullable callback) {
    return curl_easy_setopt(handle, option, callback);
}
static inline CURLcode tesp_curl_getinfo_long(CURL *_Nonnull handle, CURLINFO info, long *_Nonnull value) {
    return curl_easy_getinfo(handle, info, value);
}
static inline CURLcode tesp_curl_getinfo_off_t(CURL *_Nonnull handle, CURLINFO info, curl_off_t *_Nonnull value) {
    return curl_easy_getinfo(handle, info, value);
}
/// The signature of CURLOPT_OPENSOCKETFUNCTION: it sees every address libcurl is about to connect to (after DNS,
/// after redirects, FTP data connections too) and may refuse it by returning CURL_SOCKET_BAD.
typedef curl_socket_t (*tesp_curl_opensocket_callback)(void *_Nullable clientp, curlsocktype purpose,
                                                       struct curl_sockaddr *_Nonnull address);
static inline CURLcode tesp_curl_setopt_opensocket(CURL *_Nonnull handle, tesp_curl_opensocket_callback _Nullable callback) {
    return curl_easy_setopt(handle, CURLOPT_OPENSOCKETFUNCTION, callback);
}
/// CURL_SOCKET_BAD, a macro.
static inline curl_socket_t tesp_curl_socket_bad(void) { return CURL_SOCKET_BAD; }

/// The signature of CURLOPT_XFERINFOFUNCTION: called often during a transfer (also while nothing moves); a
/// non-zero return aborts it with CURLE_ABORTED_BY_CALLBACK.
typedef int (*tesp_curl_xferinfo_callback)(void *_Nullable clientp, curl_off_t dltotal, curl_off_t dlnow,
                                           curl_off_t ultotal, curl_off_t ulnow);
static inline CURLcode tesp_curl_setopt_xferinfo(CURL *_Nonnull handle, tesp_curl_xferinfo_callback _Nullable callback) {
    return curl_easy_setopt(handle, CURLOPT_XFERINFOFUNCTION, callback);
}

/// CURL_READFUNC_ABORT, a macro.
static inline size_t tesp_curl_readfunc_abort(void) { return CURL_READFUNC_ABORT; }

#endif
