/* SPDX-License-Identifier: MIT */
/*
 * stream_types.c: which message types a stream's owner sees (intercepted whole, observed
 * at their head, counted, neutral, valid at all). Each change also derives
 * STREAM_T_PLAIN, the one flag the relay's skip loop tests per message.
 * Not here: the relay that reads these flags (stream.c).
 */
#include "stream.h"

/* STREAM_T_PLAIN of type index @i from its other flags: valid, and neither intercepted,
 * counted nor observed. */
static void refresh_plain(struct stream *s, unsigned i)
{
    unsigned f = s->tflags[i] & ~(unsigned)STREAM_T_PLAIN;
    if ((!s->check_types || (f & STREAM_T_VALID)) &&
        !(f & (STREAM_T_INTERCEPT | STREAM_T_COUNT | STREAM_T_OBSERVE)))
        f |= STREAM_T_PLAIN;
    s->tflags[i] = (uint8_t)f;
}

static void set_type_flag(struct stream *s, uint8_t type, unsigned flag, bool on)
{
    unsigned i = (unsigned)type - STREAM_TYPE_BASE;
    LG_ASSERT(i < STREAM_NTYPES);
    if (i >= STREAM_NTYPES)
        return;
    if (on)
        s->tflags[i] = (uint8_t)(s->tflags[i] | flag);
    else
        s->tflags[i] = (uint8_t)(s->tflags[i] & ~flag);
    refresh_plain(s, i);
}

void stream_intercept(struct stream *s, uint8_t type, bool on)
{
    set_type_flag(s, type, STREAM_T_INTERCEPT, on);
}

void stream_valid_types(struct stream *s, const char *types)
{
    for (size_t i = 0; i < STREAM_NTYPES; i++)
        s->tflags[i] = (uint8_t)(s->tflags[i] & ~STREAM_T_VALID);
    s->check_types = true;
    for (; *types; types++)
        set_type_flag(s, (uint8_t)*types, STREAM_T_VALID, true);
    for (unsigned i = 0; i < STREAM_NTYPES; i++)
        refresh_plain(s, i);
}

void stream_observe(struct stream *s, uint8_t type)
{
    set_type_flag(s, type, STREAM_T_OBSERVE, true);
}

void stream_unobserve(struct stream *s, uint8_t type)
{
    set_type_flag(s, type, STREAM_T_OBSERVE, false);
}

void stream_neutral(struct stream *s, uint8_t type)
{
    set_type_flag(s, type, STREAM_T_NEUTRAL, true);
}

void stream_count(struct stream *s, uint8_t type)
{
    set_type_flag(s, type, STREAM_T_COUNT, true);
}
