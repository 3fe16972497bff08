/* Claim rules the JWTs the core validates share (the ID token, the logout token). */
#include <string.h>

#include "ipsie/ipsie_jwt.h"
#include "ipsie/ipsie_util.h"

int ipsie_jwt_aud_ok(size_t *count, json_t *aud, const char *client_id, int single_string,
                     int others_allowed)
{
    size_t i;
    json_t *v;
    int held = 0;

    *count = 0;
    if (json_is_string(aud)) {
        *count = 1;
        return strcmp(json_string_value(aud), client_id) == 0;
    }
    if (!json_is_array(aud) || single_string) {
        return 0;
    }
    json_array_foreach(aud, i, v)
    {
        if (!json_is_string(v)) {
            return 0;
        }
        if (strcmp(json_string_value(v), client_id) == 0) {
            held = 1;
        }
        else if (!others_allowed) {
            return 0;
        }
    }
    if (held) {
        *count = json_array_size(aud);
    }
    return held;
}

int ipsie_jwt_name_ok(const char *s)
{
    return s != NULL && s[0] != '\0' && strlen(s) <= IPSIE_JWT_NAME_MAX_LEN
           && !ipsie_has_control(s);
}
