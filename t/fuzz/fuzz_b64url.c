/* Fuzz target: strict base64url decoding. Whatever decodes must be the one canonical text
 * of its bytes (encode(decode(x)) == x), and every byte string must survive encode, decode. */
#include "fuzz_support.h"

#include "ipsie/ipsie_util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_setup();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool_create();
    unsigned char *bytes = NULL;
    apr_size_t len = 0;
    char *text;

    if (ipsie_b64url_decode(&bytes, &len, (const char *)data, size, p) == APR_SUCCESS) {
        FUZZ_ASSERT(bytes != NULL && bytes[len] == '\0', "decoded bytes are NUL-terminated");
        FUZZ_ASSERT(len == size / 4 * 3 + (size % 4 ? size % 4 - 1 : 0),
                    "decoded length follows from the text length");
        text = ipsie_b64url_encode(bytes, len, p);
        FUZZ_ASSERT(strlen(text) == size && memcmp(text, data, size) == 0,
                    "an accepted text is the canonical encoding of its bytes");
    }
    else {
        FUZZ_ASSERT(bytes == NULL && len == 0, "a refused text leaves no output");
    }

    /* The other direction: any bytes encode to a text that decodes back to them. */
    text = ipsie_b64url_encode(data, size, p);
    FUZZ_ASSERT(strspn(text, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
                    == strlen(text),
                "the encoding uses only the base64url alphabet, without padding");
    FUZZ_ASSERT(ipsie_b64url_decode(&bytes, &len, text, strlen(text), p) == APR_SUCCESS,
                "an encoding decodes");
    FUZZ_ASSERT(len == size && (size == 0 || memcmp(bytes, data, size) == 0),
                "decode(encode(x)) == x");

    apr_pool_destroy(p);
    return 0;
}
