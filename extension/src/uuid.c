/* Ids: UUIDv7 (RFC 9562), time-ordered so new rows append to the primary key index. */
#include "quant_pg.h"

#include <sys/time.h>

#include "utils/uuid.h"

/* 48-bit Unix milliseconds, then 12 bits of sub-millisecond time
 * (so ids made by one backend sort in creation order), then 62 random bits. */
PG_FUNCTION_INFO_V1(quant_uuid_generate_v7);
Datum
quant_uuid_generate_v7(PG_FUNCTION_ARGS)
{
	static int64 last_us = 0;
	pg_uuid_t *uuid = palloc(UUID_LEN);
	struct timeval tv;
	int64 us;
	uint64 ms;
	uint32 sub;

	if (!pg_strong_random(uuid->data, UUID_LEN))
		ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR),
		                errmsg("quant.uuid_generate_v7: could not generate random values")));
	gettimeofday(&tv, NULL);
	us = (int64) tv.tv_sec * 1000000 + tv.tv_usec;
	if (us <= last_us)
		us = last_us + 1; /* monotonic within the backend, even if the clock steps back */
	last_us = us;
	ms = (uint64) (us / 1000);
	sub = (uint32) (((us % 1000) * 4096) / 1000); /* 0..4095 */

	uuid->data[0] = (unsigned char) (ms >> 40);
	uuid->data[1] = (unsigned char) (ms >> 32);
	uuid->data[2] = (unsigned char) (ms >> 24);
	uuid->data[3] = (unsigned char) (ms >> 16);
	uuid->data[4] = (unsigned char) (ms >> 8);
	uuid->data[5] = (unsigned char) ms;
	uuid->data[6] = (unsigned char) (0x70 | ((sub >> 8) & 0x0F)); /* version 7 */
	uuid->data[7] = (unsigned char) (sub & 0xFF);
	uuid->data[8] = (unsigned char) (0x80 | (uuid->data[8] & 0x3F)); /* variant 10 */
	PG_RETURN_UUID_P(uuid);
}
