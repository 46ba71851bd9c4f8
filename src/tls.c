/* TLS to the servers (zklock_client_opts.tls_*): the options' checks, the
 * certificate spec for zookeeper_init_ssl, and the handle's log hook that
 * tells a failed handshake from a plain connection loss. Only
 * src/client.c calls in here; without a TLS-capable ZooKeeper C client
 * (configure's ZKLOCK_HAVE_TLS) every TLS option is ZKLOCK_ENOTSUP. */
#ifdef HAVE_CONFIG_H
#include "config.h" /* ZKLOCK_HAVE_TLS */
#endif
#include "zklock_int.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef ZKLOCK_HAVE_TLS
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

/* Declared by zookeeper.h only under HAVE_OPENSSL_H, which would also
 * change the layout of its zsock_t; this is the same prototype. */
zhandle_t *zookeeper_init_ssl(const char *host, const char *cert,
                              watcher_fn watcher, int recv_timeout,
                              const clientid_t *clientid, void *context,
                              int flags);
#endif

static void tls_say(const zklock_client *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void tls_say(const zklock_client *c, const char *fmt, ...) {
  char line[1024];
  if (!c->log)
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  c->log(line);
}

#ifdef ZKLOCK_HAVE_TLS
/* The C client fails a handshake only in its log. Its log callback has no
 * context argument, so the count is per process: an open that timed out
 * blames TLS if any TLS handle of the process failed one meanwhile. */
static atomic_ulong handshake_failures;
static void (*_Atomic log_sink)(const char *);

static void tls_log(const char *message) {
  if (strstr(message, "ssl connect"))
    atomic_fetch_add(&handshake_failures, 1);
  void (*sink)(const char *) = atomic_load(&log_sink);
  if (sink)
    sink(message);
}

unsigned long zklock__tls_failures(void) {
  return atomic_load(&handshake_failures);
}

/* Never prompts: OpenSSL's default callback would ask the terminal for the
 * password of an encrypted key (and the C client uses that default). */
static int key_password(char *buf, int size, int rwflag, void *arg) {
  (void)rwflag;
  const char *pw = arg;
  size_t n = pw ? strlen(pw) : 0;
  if (!pw || n >= (size_t)size)
    return 0;
  memcpy(buf, pw, n);
  return (int)n;
}

static const char *ssl_error(void) {
  static __thread char buf[256];
  unsigned long e = ERR_peek_last_error();
  ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return e ? buf : "not PEM";
}

static void key_failed(const zklock_client *c, const char *key) {
  if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH) {
    ERR_clear_error();
    tls_say(c, "zklock: TLS: the key %s does not match the certificate", key);
  } else {
    tls_say(c,
            "zklock: TLS: cannot load the key %s: %s (a wrong or missing "
            "password?)",
            key, ssl_error());
  }
}

/* The C client loads the files only once a TCP connection is up, and on a
 * bad one retries for ever without a word to the caller; load them here
 * first with the same calls, so a bad file is ZKLOCK_EINVAL at once. */
static int files_ok(const zklock_client *c, const zklock_client_opts *o) {
  SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
  if (!ctx)
    return ZKLOCK_ENOMEM;
  int rc = ZKLOCK_EINVAL;
  SSL_CTX_set_default_passwd_cb(ctx, key_password);
  SSL_CTX_set_default_passwd_cb_userdata(ctx, (void *)o->tls_key_password);
  X509 *cert;
  if (SSL_CTX_load_verify_locations(ctx, o->tls_ca, NULL) != 1)
    tls_say(c, "zklock: TLS: cannot load the CA file %s: %s", o->tls_ca,
            ssl_error());
  else if (SSL_CTX_use_certificate_chain_file(ctx, o->tls_cert) != 1)
    tls_say(c, "zklock: TLS: cannot load the certificate %s: %s", o->tls_cert,
            ssl_error());
  else if (!(cert = SSL_CTX_get0_certificate(ctx)) ||
           X509_cmp_current_time(X509_get0_notAfter(cert)) < 0)
    tls_say(c, "zklock: TLS: the certificate %s has expired", o->tls_cert);
  else if (X509_cmp_current_time(X509_get0_notBefore(cert)) > 0)
    tls_say(c, "zklock: TLS: the certificate %s is not valid yet", o->tls_cert);
  else if (SSL_CTX_use_PrivateKey_file(ctx, o->tls_key, SSL_FILETYPE_PEM) != 1)
    key_failed(c, o->tls_key);
  else if (SSL_CTX_check_private_key(ctx) != 1)
    tls_say(c, "zklock: TLS: the key %s does not match the certificate",
            o->tls_key);
  else
    rc = ZKLOCK_OK;
  ERR_clear_error();
  SSL_CTX_free(ctx);
  return rc;
}

/* The spec is "ca,cert,key[,password]", split at commas by strtok: a comma
 * or an empty field would shift the others. */
static int field_ok(const char *s) {
  return s && *s && !strchr(s, ',') && strlen(s) < 4096;
}

zhandle_t *zklock__tls_init(zklock_client *c, watcher_fn watcher) {
  /* zookeeper_init_ssl takes no log callback: its first lines go to the
   * client's log stream, the rest through tls_log to the last TLS
   * client's log function. */
  atomic_store(&log_sink, c->log);
  zhandle_t *zh = zookeeper_init_ssl(c->hosts, c->tls, watcher,
                                     c->session_timeout_ms, NULL, c, 0);
  if (zh)
    zoo_set_log_callback(zh, tls_log);
  return zh;
}
#else
unsigned long zklock__tls_failures(void) { return 0; }
zhandle_t *zklock__tls_init(zklock_client *c, watcher_fn watcher) {
  (void)c;
  (void)watcher;
  return NULL;
}
#endif

int zklock__tls_setup(zklock_client *c, const zklock_client_opts *o) {
  if (!o->tls_ca && !o->tls_cert && !o->tls_key && !o->tls_key_password)
    return ZKLOCK_OK;
#ifndef ZKLOCK_HAVE_TLS
  tls_say(c, "zklock: this libzookeeper was built without TLS");
  return ZKLOCK_ENOTSUP;
#else
  if (!field_ok(o->tls_ca) || !field_ok(o->tls_cert) || !field_ok(o->tls_key) ||
      (o->tls_key_password && !field_ok(o->tls_key_password))) {
    tls_say(c, "zklock: TLS: tls_ca, tls_cert and tls_key go together, "
               "without commas");
    return ZKLOCK_EINVAL;
  }
  int rc = files_ok(c, o);
  if (rc)
    return rc;
  size_t n = strlen(o->tls_ca) + strlen(o->tls_cert) + strlen(o->tls_key) +
             (o->tls_key_password ? strlen(o->tls_key_password) : 0) + 4;
  if (!(c->tls = malloc(n)))
    return ZKLOCK_ENOMEM;
  snprintf(c->tls, n, "%s,%s,%s%s%s", o->tls_ca, o->tls_cert, o->tls_key,
           o->tls_key_password ? "," : "",
           o->tls_key_password ? o->tls_key_password : "");
  return ZKLOCK_OK;
#endif
}

void zklock__tls_free(zklock_client *c) {
  if (!c->tls)
    return;
  /* it may hold the key's password */
  memset(c->tls, 0, strlen(c->tls));
  free(c->tls);
  c->tls = NULL;
}
