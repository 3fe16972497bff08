/* Small helpers shared by the core: base64url, randomness, constant-time compare, URLs. */
#include <limits.h>
#include <string.h>
#include <strings.h>

#include <apr_lib.h>
#include <apr_strings.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "ipsie/ipsie_error.h"
#include "ipsie/ipsie_log.h"
#include "ipsie/ipsie_util.h"

static const char b64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

char *ipsie_b64url_encode(const unsigned char *data, apr_size_t len, apr_pool_t *p)
{
    char *out = apr_palloc(p, (len + 2) / 3 * 4 + 1);
    char *o = out;
    apr_size_t i;

    for (i = 0; i + 2 < len; i += 3) {
        unsigned long v = ((unsigned long)data[i] << 16) | (data[i + 1] << 8) | data[i + 2];
        *o++ = b64url_alphabet[(v >> 18) & 0x3f];
        *o++ = b64url_alphabet[(v >> 12) & 0x3f];
        *o++ = b64url_alphabet[(v >> 6) & 0x3f];
        *o++ = b64url_alphabet[v & 0x3f];
    }
    if (len - i == 1) {
        *o++ = b64url_alphabet[data[i] >> 2];
        *o++ = b64url_alphabet[(data[i] & 0x03) << 4];
    }
    else if (len - i == 2) {
        unsigned long v = ((unsigned long)data[i] << 8) | data[i + 1];
        *o++ = b64url_alphabet[(v >> 10) & 0x3f];
        *o++ = b64url_alphabet[(v >> 4) & 0x3f];
        *o++ = b64url_alphabet[(v << 2) & 0x3f];
    }
    *o = '\0';
    return out;
}

/* A base64url character's value shifted into its place in a 24-bit quantum, one table
 * per place; anything else (padding, '+', '/', spaces...) sets bit 24. */
#define B64_BAD 0x01000000u
static const apr_uint32_t b64url_at18[256] = {
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x00f80000, 0x01000000, 0x01000000,
    0x00d00000, 0x00d40000, 0x00d80000, 0x00dc0000, 0x00e00000, 0x00e40000, 0x00e80000, 0x00ec0000,
    0x00f00000, 0x00f40000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x00000000, 0x00040000, 0x00080000, 0x000c0000, 0x00100000, 0x00140000, 0x00180000,
    0x001c0000, 0x00200000, 0x00240000, 0x00280000, 0x002c0000, 0x00300000, 0x00340000, 0x00380000,
    0x003c0000, 0x00400000, 0x00440000, 0x00480000, 0x004c0000, 0x00500000, 0x00540000, 0x00580000,
    0x005c0000, 0x00600000, 0x00640000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x00fc0000,
    0x01000000, 0x00680000, 0x006c0000, 0x00700000, 0x00740000, 0x00780000, 0x007c0000, 0x00800000,
    0x00840000, 0x00880000, 0x008c0000, 0x00900000, 0x00940000, 0x00980000, 0x009c0000, 0x00a00000,
    0x00a40000, 0x00a80000, 0x00ac0000, 0x00b00000, 0x00b40000, 0x00b80000, 0x00bc0000, 0x00c00000,
    0x00c40000, 0x00c80000, 0x00cc0000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
};
static const apr_uint32_t b64url_at12[256] = {
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x0003e000, 0x01000000, 0x01000000,
    0x00034000, 0x00035000, 0x00036000, 0x00037000, 0x00038000, 0x00039000, 0x0003a000, 0x0003b000,
    0x0003c000, 0x0003d000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x00000000, 0x00001000, 0x00002000, 0x00003000, 0x00004000, 0x00005000, 0x00006000,
    0x00007000, 0x00008000, 0x00009000, 0x0000a000, 0x0000b000, 0x0000c000, 0x0000d000, 0x0000e000,
    0x0000f000, 0x00010000, 0x00011000, 0x00012000, 0x00013000, 0x00014000, 0x00015000, 0x00016000,
    0x00017000, 0x00018000, 0x00019000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x0003f000,
    0x01000000, 0x0001a000, 0x0001b000, 0x0001c000, 0x0001d000, 0x0001e000, 0x0001f000, 0x00020000,
    0x00021000, 0x00022000, 0x00023000, 0x00024000, 0x00025000, 0x00026000, 0x00027000, 0x00028000,
    0x00029000, 0x0002a000, 0x0002b000, 0x0002c000, 0x0002d000, 0x0002e000, 0x0002f000, 0x00030000,
    0x00031000, 0x00032000, 0x00033000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
};
static const apr_uint32_t b64url_at6[256] = {
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x00000f80, 0x01000000, 0x01000000,
    0x00000d00, 0x00000d40, 0x00000d80, 0x00000dc0, 0x00000e00, 0x00000e40, 0x00000e80, 0x00000ec0,
    0x00000f00, 0x00000f40, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x00000000, 0x00000040, 0x00000080, 0x000000c0, 0x00000100, 0x00000140, 0x00000180,
    0x000001c0, 0x00000200, 0x00000240, 0x00000280, 0x000002c0, 0x00000300, 0x00000340, 0x00000380,
    0x000003c0, 0x00000400, 0x00000440, 0x00000480, 0x000004c0, 0x00000500, 0x00000540, 0x00000580,
    0x000005c0, 0x00000600, 0x00000640, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x00000fc0,
    0x01000000, 0x00000680, 0x000006c0, 0x00000700, 0x00000740, 0x00000780, 0x000007c0, 0x00000800,
    0x00000840, 0x00000880, 0x000008c0, 0x00000900, 0x00000940, 0x00000980, 0x000009c0, 0x00000a00,
    0x00000a40, 0x00000a80, 0x00000ac0, 0x00000b00, 0x00000b40, 0x00000b80, 0x00000bc0, 0x00000c00,
    0x00000c40, 0x00000c80, 0x00000cc0, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
};
static const apr_uint32_t b64url_at0[256] = {
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x0000003e, 0x01000000, 0x01000000,
    0x00000034, 0x00000035, 0x00000036, 0x00000037, 0x00000038, 0x00000039, 0x0000003a, 0x0000003b,
    0x0000003c, 0x0000003d, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x00000000, 0x00000001, 0x00000002, 0x00000003, 0x00000004, 0x00000005, 0x00000006,
    0x00000007, 0x00000008, 0x00000009, 0x0000000a, 0x0000000b, 0x0000000c, 0x0000000d, 0x0000000e,
    0x0000000f, 0x00000010, 0x00000011, 0x00000012, 0x00000013, 0x00000014, 0x00000015, 0x00000016,
    0x00000017, 0x00000018, 0x00000019, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x0000003f,
    0x01000000, 0x0000001a, 0x0000001b, 0x0000001c, 0x0000001d, 0x0000001e, 0x0000001f, 0x00000020,
    0x00000021, 0x00000022, 0x00000023, 0x00000024, 0x00000025, 0x00000026, 0x00000027, 0x00000028,
    0x00000029, 0x0000002a, 0x0000002b, 0x0000002c, 0x0000002d, 0x0000002e, 0x0000002f, 0x00000030,
    0x00000031, 0x00000032, 0x00000033, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
    0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000, 0x01000000,
};

apr_status_t ipsie_b64url_decode(unsigned char **out, apr_size_t *out_len,
                                 const char *in, apr_size_t in_len, apr_pool_t *p)
{
    const unsigned char *s = (const unsigned char *)in;
    const unsigned char *end;
    apr_size_t rem = in_len % 4;
    apr_size_t n = in_len / 4 * 3 + (rem == 0 ? 0 : rem - 1);
    unsigned char *buf;
    unsigned char *o;
    apr_uint32_t bad = 0;
    apr_uint32_t v;

    *out = NULL;
    *out_len = 0;
    /* One leftover character carries only 6 bits: no byte can end there. */
    if (in == NULL || rem == 1) {
        return IPSIE_ERR_MALFORMED;
    }
    buf = apr_palloc(p, n + 1);
    o = buf;
    /* This runs on every request's cookie: four lookups per quantum, one check at the end. */
    for (end = s + (in_len - rem); s < end; s += 4) {
        v = b64url_at18[s[0]] | b64url_at12[s[1]] | b64url_at6[s[2]] | b64url_at0[s[3]];
        bad |= v;
        o[0] = (unsigned char)(v >> 16);
        o[1] = (unsigned char)(v >> 8);
        o[2] = (unsigned char)v;
        o += 3;
    }
    if (rem != 0) {
        v = b64url_at18[s[0]] | b64url_at12[s[1]] | (rem == 3 ? b64url_at6[s[2]] : 0);
        bad |= v;
        *o++ = (unsigned char)(v >> 16);
        if (rem == 3) {
            *o++ = (unsigned char)(v >> 8);
        }
        /* Only the canonical encoding is accepted, so that one value has one text form. */
        if ((v & (rem == 3 ? 0xffu : 0xffffu)) != 0) {
            bad |= B64_BAD;
        }
    }
    if (bad & B64_BAD) {
        return IPSIE_ERR_MALFORMED;
    }
    *o = '\0';
    *out = buf;
    *out_len = (apr_size_t)(o - buf);
    return APR_SUCCESS;
}

apr_status_t ipsie_random_bytes(unsigned char *buf, apr_size_t len)
{
    if (len > INT_MAX) {
        return APR_EINVAL;
    }
    if (RAND_bytes(buf, (int)len) != 1) {
        ipsie_log(IPSIE_LOG_ERROR, "IPSIE01001: the OpenSSL random generator failed");
        return IPSIE_ERR_CRYPTO;
    }
    return APR_SUCCESS;
}

char *ipsie_random_token(apr_size_t nbytes, apr_pool_t *p)
{
    unsigned char *raw = apr_palloc(p, nbytes ? nbytes : 1);
    char *token = NULL;

    if (ipsie_random_bytes(raw, nbytes) == APR_SUCCESS) {
        token = ipsie_b64url_encode(raw, nbytes, p);
    }
    OPENSSL_cleanse(raw, nbytes);
    return token;
}

int ipsie_ct_streq(const char *a, const char *b)
{
    apr_size_t la, lb;

    if (a == NULL || b == NULL) {
        return 0;
    }
    la = strlen(a);
    lb = strlen(b);
    /* On a length mismatch still compare la bytes, so time depends on the lengths only. */
    return (CRYPTO_memcmp(a, la == lb ? b : a, la) == 0) & (la == lb);
}

static int is_unreserved(unsigned char ch)
{
    return apr_isalnum(ch) || ch == '-' || ch == '.' || ch == '_' || ch == '~';
}

char *ipsie_url_encode(const char *s, apr_pool_t *p)
{
    static const char hex[] = "0123456789ABCDEF";
    apr_size_t len = strlen(s);
    char *out = apr_palloc(p, len * 3 + 1);
    char *o = out;

    for (; *s != '\0'; s++) {
        unsigned char ch = (unsigned char)*s;
        if (is_unreserved(ch)) {
            *o++ = (char)ch;
        }
        else {
            *o++ = '%';
            *o++ = hex[ch >> 4];
            *o++ = hex[ch & 0x0f];
        }
    }
    *o = '\0';
    return out;
}

static int hex_value(unsigned char ch)
{
    if (ch >= '0' && ch <= '9') {
        return ch - '0';
    }
    if (ch >= 'a' && ch <= 'f') {
        return ch - 'a' + 10;
    }
    if (ch >= 'A' && ch <= 'F') {
        return ch - 'A' + 10;
    }
    return -1;
}

/* Value of the escape "%XY" at s, or -1 when s does not start with a well-formed one. */
static int percent_value(const char *s)
{
    int hi, lo;

    if (s[0] != '%') {
        return -1;
    }
    hi = hex_value((unsigned char)s[1]);
    if (hi < 0) {
        return -1;
    }
    lo = hex_value((unsigned char)s[2]);
    if (lo < 0) {
        return -1;
    }
    return hi * 16 + lo;
}

apr_status_t ipsie_url_decode(char **out, const char *s, int form, apr_pool_t *p)
{
    char *buf;
    char *o;

    *out = NULL;
    if (s == NULL) {
        return IPSIE_ERR_MALFORMED;
    }
    buf = apr_palloc(p, strlen(s) + 1);
    o = buf;
    while (*s != '\0') {
        if (*s == '%') {
            int v = percent_value(s);
            /* A NUL would silently cut the value short for every later C consumer. */
            if (v <= 0) {
                return IPSIE_ERR_MALFORMED;
            }
            *o++ = (char)v;
            s += 3;
        }
        else {
            *o++ = (form && *s == '+') ? ' ' : *s;
            s++;
        }
    }
    *o = '\0';
    *out = buf;
    return APR_SUCCESS;
}

apr_status_t ipsie_form_parse(apr_table_t **out, const char *s, apr_pool_t *p)
{
    apr_table_t *t = apr_table_make(p, 8);
    apr_status_t rv = APR_SUCCESS;
    const char *pair = s ? s : "";

    *out = NULL;
    while (*pair != '\0') {
        const char *end = strchr(pair, '&');
        apr_size_t plen = end ? (apr_size_t)(end - pair) : strlen(pair);
        const char *eq = memchr(pair, '=', plen);
        char *raw_name, *raw_value, *name, *value;

        raw_name = apr_pstrmemdup(p, pair, eq ? (apr_size_t)(eq - pair) : plen);
        raw_value = eq ? apr_pstrmemdup(p, eq + 1, plen - (apr_size_t)(eq - pair) - 1) : "";
        rv = ipsie_url_decode(&name, raw_name, 1, p);
        if (rv != APR_SUCCESS) {
            goto leave;
        }
        rv = ipsie_url_decode(&value, raw_value, 1, p);
        if (rv != APR_SUCCESS) {
            goto leave;
        }
        /* First value wins so a parameter appended later cannot override an earlier one. */
        if (*name != '\0' && apr_table_get(t, name) == NULL) {
            apr_table_setn(t, name, value);
        }
        pair = end ? end + 1 : pair + plen;
    }
    *out = t;
leave:
    return rv;
}

/* The parts of "scheme://authority..." we compare; the port has its default applied. */
typedef struct {
    const char *scheme;
    apr_size_t scheme_len;
    const char *host;
    apr_size_t host_len;
    long port;
    const char *rest;  /* path, query and fragment after the authority */
} url_parts_t;

static int host_char_ok(unsigned char ch, int bracketed)
{
    if (bracketed) {
        return apr_isxdigit(ch) || ch == ':' || ch == '.';
    }
    return apr_isalnum(ch) || ch == '-' || ch == '.';
}

/* Split an absolute http(s) URL. Rejects userinfo, odd host characters and bad ports. */
static int split_http_url(url_parts_t *u, const char *s)
{
    const char *colon = strchr(s, ':');
    const char *auth, *auth_end, *h, *port_at = NULL;
    apr_size_t i;

    if (colon == NULL) {
        return 0;
    }
    u->scheme = s;
    u->scheme_len = (apr_size_t)(colon - s);
    if (!((u->scheme_len == 4 && strncasecmp(s, "http", 4) == 0)
          || (u->scheme_len == 5 && strncasecmp(s, "https", 5) == 0))) {
        return 0;
    }
    if (colon[1] != '/' || colon[2] != '/') {
        return 0;
    }
    auth = colon + 3;
    auth_end = auth + strcspn(auth, "/?#");
    /* Userinfo is how "https://ourhost@evil.example/" smuggles another host in. */
    if (auth_end == auth || memchr(auth, '@', (apr_size_t)(auth_end - auth)) != NULL) {
        return 0;
    }
    h = auth;
    if (*auth == '[') {
        const char *close = memchr(auth, ']', (apr_size_t)(auth_end - auth));
        if (close == NULL || close == auth + 1) {
            return 0;
        }
        u->host = auth;
        u->host_len = (apr_size_t)(close - auth) + 1;
        for (i = 1; i + 1 < u->host_len; i++) {
            if (!host_char_ok((unsigned char)h[i], 1)) {
                return 0;
            }
        }
        if (close + 1 != auth_end) {
            if (close[1] != ':') {
                return 0;
            }
            port_at = close + 2;
        }
    }
    else {
        const char *pc = memchr(auth, ':', (apr_size_t)(auth_end - auth));
        u->host = auth;
        u->host_len = (apr_size_t)((pc ? pc : auth_end) - auth);
        if (u->host_len == 0) {
            return 0;
        }
        for (i = 0; i < u->host_len; i++) {
            if (!host_char_ok((unsigned char)h[i], 0)) {
                return 0;
            }
        }
        port_at = pc ? pc + 1 : NULL;
    }
    u->port = (u->scheme_len == 5) ? 443 : 80;
    if (port_at != NULL) {
        apr_size_t plen = (apr_size_t)(auth_end - port_at);
        long port = 0;
        if (plen == 0 || plen > 5) {
            return 0;
        }
        for (i = 0; i < plen; i++) {
            if (!apr_isdigit(port_at[i])) {
                return 0;
            }
            port = port * 10 + (port_at[i] - '0');
        }
        if (port < 1 || port > 65535) {
            return 0;
        }
        u->port = port;
    }
    u->rest = auth_end;
    return 1;
}

/* Raw controls, spaces, backslashes, non-ASCII and escaped controls ("%0d%0a") are refused:
 * browsers strip or reinterpret them, which is how header injection and "/\evil" work. */
static int url_chars_ok(const char *s)
{
    for (; *s != '\0'; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch <= 0x20 || ch >= 0x7f || ch == '\\') {
            return 0;
        }
        if (ch == '%') {
            int v = percent_value(s);
            if (v < 0x20 || v == 0x7f) {
                return 0;
            }
        }
    }
    return 1;
}

apr_status_t ipsie_url_same_origin(const char **abs_url, const char *target,
                                   const char *origin, apr_pool_t *p)
{
    url_parts_t o, t;
    const char *base;

    *abs_url = NULL;
    if (origin == NULL || !split_http_url(&o, origin)
        || !(o.rest[0] == '\0' || (o.rest[0] == '/' && o.rest[1] == '\0'))) {
        return IPSIE_ERR_MALFORMED;
    }
    base = apr_pstrmemdup(p, origin, (apr_size_t)(o.rest - origin));
    if (target == NULL || *target == '\0' || !url_chars_ok(target)) {
        return IPSIE_ERR_NOT_SAME_ORIGIN;
    }
    if (target[0] == '/') {
        /* "//host" is scheme-relative: another origin. */
        if (target[1] == '/') {
            return IPSIE_ERR_NOT_SAME_ORIGIN;
        }
        *abs_url = apr_pstrcat(p, base, target, NULL);
        return APR_SUCCESS;
    }
    if (!split_http_url(&t, target)
        || t.scheme_len != o.scheme_len || strncasecmp(t.scheme, o.scheme, o.scheme_len) != 0
        || t.host_len != o.host_len || strncasecmp(t.host, o.host, o.host_len) != 0
        || t.port != o.port) {
        return IPSIE_ERR_NOT_SAME_ORIGIN;
    }
    /* Rebuild on our own spelling of the origin so nothing of the target's authority leaks. */
    *abs_url = apr_pstrcat(p, base, t.rest[0] == '/' ? "" : "/", t.rest, NULL);
    return APR_SUCCESS;
}
