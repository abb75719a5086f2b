/*
 * series.c — the public catalog lookups: count, describe, find by key.
 */
#include "engine/batch.h"
#include "engine/db.h"

#include "engine/err.h"

int strata_series_count(strata_db *db, uint64_t *count)
{
    if (!db || !count)
        return st_err(STRATA_MISUSE, "strata_series_count: NULL argument");
    *count = catalog_series_count(db->cat);
    return STRATA_OK;
}

int strata_series_get(strata_db *db, uint64_t id, strata_series *out)
{
    if (!db || !out)
        return st_err(STRATA_MISUSE, "strata_series_get: NULL argument");
    cat_series_info in;
    if (id >= CAT_NONE || catalog_series_info(db->cat, (uint32_t)id, &in) != STRATA_OK)
        return st_err(STRATA_NOTFOUND, "no series with id %llu", (unsigned long long)id);
    const char *key = catalog_series_key(db->cat, (uint32_t)id);
    if (!key)
        return st_err(STRATA_NOMEM, "out of memory describing series %llu",
                      (unsigned long long)id);
    out->id = id;
    out->type = (strata_type)in.type;
    out->key = key;
    out->measurement_len = in.measurement_len;
    out->tags_len = in.tagset_len;
    out->field = in.field;
    return STRATA_OK;
}

int strata_series_find(strata_db *db, const char *key, strata_series *out)
{
    if (!db || !key || !out)
        return st_err(STRATA_MISUSE, "strata_series_find: NULL argument");
    uint32_t sid;
    int rc = batch_lookup_key(db->cat, key, &sid);
    if (rc != STRATA_OK)
        return rc;
    return strata_series_get(db, sid, out);
}
