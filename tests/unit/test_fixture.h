/* SPDX-License-Identifier: MIT */
/* Helpers for the encoder tests: structures built byte by byte at spec offsets. */
#ifndef NR_TEST_FIXTURE_H
#define NR_TEST_FIXTURE_H

#include <criterion/criterion.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Writes @value little-endian in @size bytes at @offset of @buf. */
static inline void put_le(uint8_t *buf, size_t offset, uint64_t value, size_t size)
{
	for (size_t i = 0; i < size; i++)
		buf[offset + i] = (uint8_t)(value >> (8 * i));
}

/* The integer member @key of @obj; fails the test if it is not an integer. */
static inline json_int_t int_at(const json_t *obj, const char *key)
{
	json_t *value = json_object_get(obj, key);

	cr_assert(json_is_integer(value), "%s is not an integer", key);
	return json_integer_value(value);
}

/* The Identify Controller fixture of test_encode (4096 bytes at @buf): every
 * kind of field, reserved bytes set, two power states and a third beyond
 * NPSS. test_encode_text pins its text. */
static inline void fixture_id_ctrl(uint8_t *buf)
{
	memset(buf, 0, 4096);
	memset(buf + 134, 0xaa, 119); /* reserved: must not leak into any field */
	put_le(buf, 0, 0x1b36, 2);    /* vid */
	put_le(buf, 2, 0x1af4, 2);    /* ssvid */
	memcpy(buf + 4, "SN0001              ", 20);
	memcpy(buf + 24, "Model X", 7);
	memset(buf + 31, ' ', 33);
	memcpy(buf + 64, "FW 1.2  ", 8);
	buf[72] = 6;					/* rab */
	buf[73] = 0x00, buf[74] = 0x54, buf[75] = 0x52; /* ieee 52:54:00 */
	buf[77] = 7;					/* mdts */
	put_le(buf, 78, 0x0102, 2);			/* cntlid */
	put_le(buf, 80, 0x00020000, 4);			/* ver */
	put_le(buf, 96, 0x80000001u, 4);		/* ctratt */
	buf[111] = 1;					/* cntrltype */
	for (int i = 0; i < 16; i++)
		buf[112 + i] = (uint8_t)(0x10 + i); /* fguid */
	put_le(buf, 256, 0x0017, 2);		    /* oacs */
	buf[263] = 1;				    /* npss: two power states */
	put_le(buf, 266, 343, 2);		    /* wctemp */
	put_le(buf, 268, 353, 2);		    /* cctemp */
	put_le(buf, 280, 0x2000, 8);		    /* tnvmcap low */
	put_le(buf, 288, 0x1, 8);		    /* tnvmcap high: > 2^64 */
	buf[512] = 0x66, buf[513] = 0x44;	    /* sqes, cqes */
	put_le(buf, 516, 1024, 4);		    /* nn */
	put_le(buf, 536, 0xffffffffu, 4);	    /* sgls */
	memcpy(buf + 768, "nqn.2014-08.org.example:sub", 27);
	put_le(buf, 2048, 2500, 2);   /* psd0 mp */
	put_le(buf, 2048 + 4, 16, 4); /* psd0 enlat */
	put_le(buf, 2080, 900, 2);    /* psd1 mp */
	buf[2080 + 3] = 0x3;	      /* psd1 flags */
	buf[2080 + 22] = 0x42;	      /* psd1 apws */
	put_le(buf, 2112, 777, 2);    /* psd2: beyond npss, ignored */
}

/* The Identify Namespace fixture of test_encode (4096 bytes). */
static inline void fixture_id_ns(uint8_t *buf)
{
	memset(buf, 0, 4096);
	put_le(buf, 0, 0xffffffffffffffffull, 8); /* nsze all ones */
	put_le(buf, 8, 0x8000000000000001ull, 8); /* ncap > 2^63 */
	put_le(buf, 16, 123456789, 8);		  /* nuse */
	buf[24] = 0x10;				  /* nsfeat */
	buf[25] = 1;				  /* nlbaf: two formats */
	buf[26] = 1;				  /* flbas */
	put_le(buf, 48, 1ull << 40, 8);		  /* nvmcap */
	put_le(buf, 64, 8, 2);			  /* npwg */
	put_le(buf, 76, 0x11223344, 4);		  /* mcl */
	buf[83] = 0x5a;				  /* rsvd83: ignored */
	put_le(buf, 92, 3, 4);			  /* anagrpid */
	put_le(buf, 102, 9, 2);			  /* endgid */
	for (int i = 0; i < 16; i++)
		buf[104 + i] = (uint8_t)(0xa0 + i); /* nguid */
	for (int i = 0; i < 8; i++)
		buf[120 + i] = (uint8_t)(0x01 + i); /* eui64 */
	buf[128 + 2] = 9;			    /* lbaf0 ds */
	put_le(buf, 132, 8, 2);			    /* lbaf1 ms */
	buf[132 + 2] = 12;			    /* lbaf1 ds */
	buf[132 + 3] = 2;			    /* lbaf1 rp */
	buf[136 + 2] = 13;			    /* lbaf2: beyond nlbaf */
}

/* The SMART / Health log fixture of test_encode (512 bytes). */
static inline void fixture_smart_log(uint8_t *buf)
{
	memset(buf, 0, 512);
	memset(buf + 7, 0xee, 25); /* reserved */
	buf[0] = 0x25;		   /* critical warning: spare, reliability, pmr_read_only */
	put_le(buf, 1, 308, 2);	   /* temperature, Kelvin */
	buf[3] = 100, buf[4] = 10, buf[5] = 3, buf[6] = 1;
	put_le(buf, 32, 5, 8); /* data_units_read = 2^64 + 5 */
	put_le(buf, 40, 1, 8);
	put_le(buf, 48, 0x1234, 8);	 /* data_units_written */
	put_le(buf, 64, 42, 8);		 /* host_read_commands */
	put_le(buf, 80, 43, 8);		 /* host_write_commands */
	put_le(buf, 96, 7, 8);		 /* controller_busy_time */
	put_le(buf, 112, 12, 8);	 /* power_cycles */
	put_le(buf, 128, 9999, 8);	 /* power_on_hours */
	put_le(buf, 144, 2, 8);		 /* unsafe_shutdowns */
	put_le(buf, 176, 77, 8);	 /* num_err_log_entries */
	put_le(buf, 192, 10, 4);	 /* warning_temp_time */
	put_le(buf, 196, 11, 4);	 /* critical_comp_time */
	put_le(buf, 200, 310, 2);	 /* temperature sensor 1 */
	put_le(buf, 204, 320, 2);	 /* temperature sensor 3; sensor 2 absent */
	put_le(buf, 216, 0x01020304, 4); /* thm_temp1_trans_count */
	put_le(buf, 228, 99, 4);	 /* thm_temp2_total_time */
}

/* xorshift64: the same bytes on every run and machine. */
static inline uint64_t fixture_next(uint64_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return *state;
}

/*
 * Fills @len bytes from @seed in one of four styles (@style % 4): uniform
 * bytes; mostly 00h and FFh (all-ones 64-bit and 128-bit values, NPSS and
 * NLBAF past their arrays); identifier bytes ('"', '\\', control, DEL,
 * space, NUL); sparse small values.
 */
static inline void fixture_random(uint8_t *buf, size_t len, uint64_t seed, unsigned style)
{
	static const char ident[] = " \"\\A\x01\x7f~\n\t";
	uint64_t state = seed * 0x9e3779b97f4a7c15ull + 1;

	for (size_t i = 0; i < len; i++) {
		uint64_t r = fixture_next(&state);
		switch (style % 4) {
		case 0:
			buf[i] = (uint8_t)r;
			break;
		case 1:
			buf[i] = r % 4 == 0 ? 0xff : r % 4 == 1 ? 0 : (uint8_t)(r >> 8);
			break;
		case 2:
			buf[i] = (uint8_t)(r % 8 == 0 ? 0 : ident[(r >> 8) % (sizeof(ident) - 1)]);
			break;
		default:
			buf[i] = r % 16 == 0 ? (uint8_t)(r >> 8) : 0;
			break;
		}
	}
}

#endif
