/* HTTPS certificates for the HTTP server, reloadable without a restart.
 *
 * libmicrohttpd 0.9.75 has no certificate reload, but it accepts a GnuTLS certificate callback
 * (MHD_OPTION_HTTPS_CERT_CALLBACK) that picks the certificate at each handshake. We load the PEM
 * files ourselves and hand out the current pair; SIGHUP loads a new pair and swaps it in. A
 * replaced pair is kept until the server stops, because a handshake in progress may still be using
 * it (a reload is rare and a pair is a few kilobytes).
 *
 * GnuTLS is the library libmicrohttpd is built with and is already loaded with it; its functions
 * are looked up at run time so the build needs no extra link dependency. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>

#include "transport/http_internal.h"

#define TLS_FILE_MAX ((size_t)1024 * 1024)
#define TLS_CHAIN_MAX 16

typedef struct cert_pair {
    struct cert_pair *older;
    gnutls_pcert_st pcerts[TLS_CHAIN_MAX];
    unsigned count;
    gnutls_privkey_t key;
} cert_pair;

struct http_tls {
    pthread_mutex_t lock;
    cert_pair *current; /* newest first; older pairs are retired but kept */
};

static pthread_mutex_t current_lock = PTHREAD_MUTEX_INITIALIZER;
static http_tls *current_tls;

static int read_pem(const char *path, const char *what, gnutls_datum_t *ret, error_info *err) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return error_set(err, errno, "cannot open the TLS %s %s: %s", what, path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > TLS_FILE_MAX) {
        close(fd);
        return error_set(err, EINVAL, "the TLS %s %s is not a regular file of at most 1 MiB", what, path);
    }
    unsigned char *data = malloc((size_t)st.st_size + 1);
    size_t len = 0;
    while (data && len < (size_t)st.st_size) {
        ssize_t n = read(fd, data + len, (size_t)st.st_size - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    if (!data)
        return error_set(err, ENOMEM, "out of memory");
    data[len] = '\0';
    ret->data = data;
    ret->size = (unsigned)len;
    return 0;
}

static void pair_free(cert_pair *p) {
    for (unsigned i = 0; i < p->count; i++)
        gnutls_pcert_deinit(&p->pcerts[i]);
    if (p->key)
        gnutls_privkey_deinit(p->key);
    free(p);
}

static int pair_load(const char *cert_file, const char *key_file, cert_pair **ret, error_info *err) {
    int r;
    gnutls_datum_t cert = {0}, key = {0};
    if ((r = read_pem(cert_file, "certificate", &cert, err)) < 0)
        return r;
    if ((r = read_pem(key_file, "key", &key, err)) < 0) {
        free(cert.data);
        return r;
    }
    cert_pair *p = calloc(1, sizeof *p);
    if (!p) {
        r = error_set(err, ENOMEM, "out of memory");
        goto out;
    }
    p->count = TLS_CHAIN_MAX;
    int g = gnutls_pcert_list_import_x509_raw(p->pcerts, &p->count, &cert, GNUTLS_X509_FMT_PEM, 0);
    if (g < 0) {
        p->count = 0;
        r = error_set(err, EINVAL, "the TLS certificate %s is not a PEM certificate (chain): %s", cert_file,
                      gnutls_strerror(g));
        goto out;
    }
    if ((g = gnutls_privkey_init(&p->key)) < 0 ||
        (g = gnutls_privkey_import_x509_raw(p->key, &key, GNUTLS_X509_FMT_PEM, NULL, 0)) < 0) {
        r = error_set(err, EINVAL, "the TLS key %s is not an unencrypted PEM private key: %s", key_file,
                      gnutls_strerror(g));
        goto out;
    }
    *ret = p;
    p = NULL;
    r = 0;
out:
    if (p)
        pair_free(p);
    explicit_bzero(key.data, key.size);
    free(key.data);
    free(cert.data);
    return r;
}

int http_tls_new(const char *cert_file, const char *key_file, http_tls **ret, error_info *err) {
    cert_pair *p = NULL;
    int r = pair_load(cert_file, key_file, &p, err);
    if (r < 0)
        return r;
    http_tls *t = calloc(1, sizeof *t);
    if (!t) {
        pair_free(p);
        return error_set(err, ENOMEM, "out of memory");
    }
    pthread_mutex_init(&t->lock, NULL);
    t->current = p;
    *ret = t;
    return 0;
}

int http_tls_reload(http_tls *t, const char *cert_file, const char *key_file, error_info *err) {
    cert_pair *p = NULL;
    int r = pair_load(cert_file, key_file, &p, err);
    if (r < 0)
        return r;
    pthread_mutex_lock(&t->lock);
    p->older = t->current;
    t->current = p;
    pthread_mutex_unlock(&t->lock);
    return 0;
}

http_tls *http_tls_free(http_tls *t) {
    if (!t)
        return NULL;
    pthread_mutex_lock(&current_lock);
    if (current_tls == t)
        current_tls = NULL;
    pthread_mutex_unlock(&current_lock);
    for (cert_pair *p = t->current; p;) {
        cert_pair *older = p->older;
        pair_free(p);
        p = older;
    }
    pthread_mutex_destroy(&t->lock);
    free(t);
    return NULL;
}

void http_tls_set_current(http_tls *t) {
    pthread_mutex_lock(&current_lock);
    current_tls = t;
    pthread_mutex_unlock(&current_lock);
}

/* gnutls_certificate_retrieve_function2: the callback has no user pointer, so the server's pair
 * set is process-wide (one HTTPS server per process). */
static int retrieve(gnutls_session_t session, const gnutls_datum_t *req_ca_dn, int nreqs,
                    const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length, gnutls_pcert_st **pcert,
                    unsigned int *pcert_length, gnutls_privkey_t *privkey) {
    (void)session;
    (void)req_ca_dn;
    (void)nreqs;
    (void)pk_algos;
    (void)pk_algos_length;
    int r = -1;
    pthread_mutex_lock(&current_lock);
    if (current_tls) {
        pthread_mutex_lock(&current_tls->lock);
        cert_pair *p = current_tls->current;
        *pcert = p->pcerts;
        *pcert_length = p->count;
        *privkey = p->key;
        pthread_mutex_unlock(&current_tls->lock);
        r = 0;
    }
    pthread_mutex_unlock(&current_lock);
    return r;
}

void *http_tls_callback(void) {
    gnutls_certificate_retrieve_function2 *fn = retrieve;
    void *p;
    memcpy(&p, &fn, sizeof p);
    return p;
}
