/* SPDX-License-Identifier: MIT */
#include "encode/encode_feature.h"

#include <string.h>

#include "encode/enc_text.h"

#define LIT(p, s) nr_text_put(p, s, sizeof(s) - 1)

/* {"name":bits,...} of @value by @fields. */
static char *put_fields(char *p, const struct nr_feat_field *fields, uint32_t value)
{
	char sep = '{';

	for (const struct nr_feat_field *f = fields; f->name; f++) {
		uint32_t mask = f->width >= 32 ? 0xffffffffu : (1u << f->width) - 1;

		*p++ = sep;
		sep = ',';
		p = nr_text_string(p, f->name, strlen(f->name));
		*p++ = ':';
		p = nr_text_u64(p, (value >> f->shift) & mask);
	}
	if (sep == '{')
		*p++ = '{';
	*p++ = '}';
	return p;
}

size_t nr_enc_feature_text(char *out, const struct nr_feature_answer *a)
{
	const char *name = nr_feature_name(a->fid);
	char *p = out;

	p = LIT(p, "{\"fid\":");
	p = nr_text_u64(p, a->fid);
	p = LIT(p, ",\"name\":");
	p = nr_text_string(p, name, strlen(name));
	p = LIT(p, ",\"sel\":");
	p = nr_text_string(p, a->sel, strlen(a->sel));
	p = LIT(p, ",\"value\":");
	p = nr_text_u64(p, a->value);
	p = LIT(p, ",\"fields\":");
	p = put_fields(p, a->fields, a->value);
	if (a->data && a->data_len > 0) {
		p = LIT(p, ",\"data\":\"");
		p += nr_base64_encode(a->data, a->data_len, p);
		*p++ = '"';
	}
	*p++ = '}';
	return (size_t)(p - out);
}
