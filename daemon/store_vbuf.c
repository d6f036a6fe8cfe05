/*
 * store_vbuf.c: the per-series value buffers that the main thread fills
 * and the writer threads take over and consume (store_int.h says who
 * owns which buffer when).
 */
#include "daemon/store_int.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void store_vbuf_clear(struct vbuf *b)
{
	b->n = 0;
	b->min_seq = NO_SEQ;
}

int store_vbuf_reserve(struct vbuf *b, size_t need)
{
	struct value *nv;
	size_t cap;

	if (need <= b->cap)
		return 0;
	if (need > UINT32_MAX / 2) {
		errno = ENOMEM;
		return -1;
	}
	cap = b->cap ? b->cap : 4;
	while (cap < need)
		cap *= 2;
	if ((nv = reallocarray(b->v, cap, sizeof(*nv))) == NULL)
		return -1;
	b->v = nv;
	b->cap = (uint32_t)cap;
	return 0;
}

static void vbuf_swap(struct vbuf *a, struct vbuf *b)
{
	struct vbuf tmp = *a;

	*a = *b;
	*b = tmp;
}

/* Move everything from `src` to the end of `dst`, by swapping when dst is
 * empty. -1 if dst could not grow (src is left as it was). */
int store_vbuf_move(struct vbuf *dst, struct vbuf *src)
{
	if (src->n == 0)
		return 0;
	if (dst->n == 0) {
		vbuf_swap(dst, src);
		store_vbuf_clear(src);
		return 0;
	}
	if (store_vbuf_reserve(dst, dst->n + src->n) == -1)
		return -1;
	memcpy(dst->v + dst->n, src->v, src->n * sizeof(*src->v));
	dst->n += src->n;
	if (src->min_seq < dst->min_seq)
		dst->min_seq = src->min_seq;
	store_vbuf_clear(src);
	return 0;
}

void store_vbuf_free(struct vbuf *b)
{
	free(b->v);
	b->v = NULL;
	b->n = b->cap = 0;
	b->min_seq = NO_SEQ;
}

/* Drop the first `k` values (written or refused); a buffer emptied is
 * freed (see the header comment). */
void store_vbuf_consume(struct vbuf *b, size_t k)
{
	if (k == 0)
		return;
	if (k == b->n) {
		store_vbuf_free(b);
		return;
	}
	memmove(b->v, b->v + k, (b->n - k) * sizeof(*b->v));
	b->n -= (uint32_t)k;
}
