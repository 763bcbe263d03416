/* libmicrohttpd, opened when the HTTP server starts, so that a stdio server does not map it nor
 * initialise GnuTLS, which libmicrohttpd does from a constructor (see lazy_lib.h). */
#include <stdarg.h>
#include <stdint.h>

#include <microhttpd.h>

#include "lazy/lazy_lib.h"

#define MHD_FUNCTIONS(X)                                                                                       \
    X(MHD_start_daemon_va)                                                                                     \
    X(MHD_quiesce_daemon)                                                                                      \
    X(MHD_stop_daemon)                                                                                         \
    X(MHD_get_connection_info)                                                                                 \
    X(MHD_get_connection_values)                                                                               \
    X(MHD_lookup_connection_value)                                                                             \
    X(MHD_queue_response)                                                                                      \
    X(MHD_suspend_connection)                                                                                  \
    X(MHD_resume_connection)                                                                                   \
    X(MHD_create_response_from_buffer)                                                                         \
    X(MHD_create_response_from_callback)                                                                       \
    X(MHD_add_response_header)                                                                                 \
    X(MHD_destroy_response)

LAZY_LIBRARY(KUBEMCP_SONAME_MICROHTTPD, "libmicrohttpd12", MHD_FUNCTIONS);

struct MHD_Daemon *MHD_start_daemon(unsigned int flags, uint16_t port, MHD_AcceptPolicyCallback apc, void *apc_cls,
                                    MHD_AccessHandlerCallback dh, void *dh_cls, ...) {
    if (lazy_lib_load(&lib) < 0)
        return NULL;
    va_list ap;
    va_start(ap, dh_cls);
    struct MHD_Daemon *d = LAZY_REAL(MHD_start_daemon_va)(flags, port, apc, apc_cls, dh, dh_cls, ap);
    va_end(ap);
    return d;
}

MHD_socket MHD_quiesce_daemon(struct MHD_Daemon *daemon) {
    return lazy_lib_load(&lib) < 0 ? MHD_INVALID_SOCKET : LAZY_REAL(MHD_quiesce_daemon)(daemon);
}

void MHD_stop_daemon(struct MHD_Daemon *daemon) {
    if (lazy_lib_loaded(&lib))
        LAZY_REAL(MHD_stop_daemon)(daemon);
}

/* No MHD_ConnectionInfoType of libmicrohttpd 0.9 reads the variadic part. */
const union MHD_ConnectionInfo *MHD_get_connection_info(struct MHD_Connection *connection,
                                                        enum MHD_ConnectionInfoType info_type, ...) {
    return lazy_lib_load(&lib) < 0 ? NULL : LAZY_REAL(MHD_get_connection_info)(connection, info_type);
}

int MHD_get_connection_values(struct MHD_Connection *connection, enum MHD_ValueKind kind,
                              MHD_KeyValueIterator iterator, void *iterator_cls) {
    return lazy_lib_load(&lib) < 0 ? -1 : LAZY_REAL(MHD_get_connection_values)(connection, kind, iterator, iterator_cls);
}

const char *MHD_lookup_connection_value(struct MHD_Connection *connection, enum MHD_ValueKind kind, const char *key) {
    return lazy_lib_load(&lib) < 0 ? NULL : LAZY_REAL(MHD_lookup_connection_value)(connection, kind, key);
}

enum MHD_Result MHD_queue_response(struct MHD_Connection *connection, unsigned int status_code,
                                   struct MHD_Response *response) {
    return lazy_lib_load(&lib) < 0 ? MHD_NO : LAZY_REAL(MHD_queue_response)(connection, status_code, response);
}

void MHD_suspend_connection(struct MHD_Connection *connection) {
    if (lazy_lib_loaded(&lib))
        LAZY_REAL(MHD_suspend_connection)(connection);
}

void MHD_resume_connection(struct MHD_Connection *connection) {
    if (lazy_lib_loaded(&lib))
        LAZY_REAL(MHD_resume_connection)(connection);
}

struct MHD_Response *MHD_create_response_from_buffer(size_t size, void *buffer, enum MHD_ResponseMemoryMode mode) {
    return lazy_lib_load(&lib) < 0 ? NULL : LAZY_REAL(MHD_create_response_from_buffer)(size, buffer, mode);
}

struct MHD_Response *MHD_create_response_from_callback(uint64_t size, size_t block_size, MHD_ContentReaderCallback crc,
                                                       void *crc_cls, MHD_ContentReaderFreeCallback crfc) {
    return lazy_lib_load(&lib) < 0 ? NULL
                                   : LAZY_REAL(MHD_create_response_from_callback)(size, block_size, crc, crc_cls, crfc);
}

enum MHD_Result MHD_add_response_header(struct MHD_Response *response, const char *header, const char *content) {
    return lazy_lib_load(&lib) < 0 ? MHD_NO : LAZY_REAL(MHD_add_response_header)(response, header, content);
}

void MHD_destroy_response(struct MHD_Response *response) {
    if (lazy_lib_loaded(&lib))
        LAZY_REAL(MHD_destroy_response)(response);
}
