/* The storage credentials and endpoints the backup and import jobs use:
 * the store module's environment variables, then the daemon's s3*, gcs* and
 * azure* keys over them (the config file and RDBKEEP_* win, as everywhere in
 * the daemon). Built once at start; the jobs share it (its one mutable part,
 * the OAuth token cache, has its own lock) and copy it to set their own
 * cancel hook. */
#include "redis/redis.h"
#include "service/internal.h"
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

static void override(char **field, const char *value, bool secret)
{
    if (!value || !value[0]) return;
    if (*field && secret) memset(*field, 0, strlen(*field));
    free(*field);
    *field = xstrdup(value);
}

int service_store_config(const struct rk_config *cfg, struct store_config *out, struct rk_err *err)
{
    if (store_config_from_env(out, err) < 0) return rk_err_prefix(err, "storage settings");
    override(&out->s3.access_key_id, cfg->s3_access_key_id, false);
    override(&out->s3.secret_access_key, cfg->s3_secret_access_key, true);
    override(&out->s3.region, cfg->s3_region, false);
    override(&out->s3.endpoint, cfg->s3_endpoint_url, false);
    if (cfg->s3_path_style) out->s3.path_style = true;
    override(&out->gcs.credentials_file, cfg->gcs_service_account_file, false);
    override(&out->gcs.hmac_access_id, cfg->gcs_hmac_access_id, false);
    override(&out->gcs.hmac_secret, cfg->gcs_hmac_secret, true);
    override(&out->gcs.endpoint, cfg->gcs_endpoint_url, false);
    override(&out->azure.key, cfg->azure_account_key, true);
    override(&out->azure.sas_token, cfg->azure_sas_token, true);
    override(&out->azure.endpoint, cfg->azure_endpoint_url, false);
    /* redis:// import sources are snapshots through the replication client. */
    out->redis_open = redis_store_open;
    out->redis_open_arg = NULL;
    return 0;
}
