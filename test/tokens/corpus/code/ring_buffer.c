#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct RingBuffer
{
	uint8_t    *data;
	size_t		capacity;
	size_t		head;			/* next byte to read */
	size_t		count;			/* bytes currently stored */
} RingBuffer;

/*
 * Copy up to len bytes into the buffer and return how many were stored.
 * When the buffer is full the remaining bytes are dropped, never
 * overwritten, so a slow reader loses the newest data, not the oldest.
 */
size_t
ring_write(RingBuffer *rb, const uint8_t *src, size_t len)
{
	size_t		room = rb->capacity - rb->count;
	size_t		tail;
	size_t		first;

	if (len > room)
		len = room;
	tail = (rb->head + rb->count) % rb->capacity;
	first = rb->capacity - tail;
	if (first > len)
		first = len;
	memcpy(rb->data + tail, src, first);
	memcpy(rb->data, src + first, len - first);
	rb->count += len;
	return len;
}

size_t
ring_read(RingBuffer *rb, uint8_t *dst, size_t len)
{
	size_t		first;

	if (len > rb->count)
		len = rb->count;
	first = rb->capacity - rb->head;
	if (first > len)
		first = len;
	memcpy(dst, rb->data + rb->head, first);
	memcpy(dst + first, rb->data, len - first);
	rb->head = (rb->head + len) % rb->capacity;
	rb->count -= len;
	return len;
}
