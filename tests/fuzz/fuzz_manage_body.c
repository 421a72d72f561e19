/*
 * fuzz_manage_body.c: libFuzzer target for the management API's request
 * bodies: the create bodies of both APIs and the JSON Patch that stops a
 * backup.  Properties: no parser crashes or reads out of bounds; each
 * answers CAIRN_OK or CAIRN_EINVALID with a reason, and the same bytes
 * always get the same answer.
 */
#include "api/manage.h"

#include <stdlib.h>
#include <string.h>

#include "util/error.h"

static void check_answer(int rc)
{
	if (rc != CAIRN_OK && (rc != CAIRN_EINVALID || cairn_error_last()[0] == '\0'))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *body = malloc(size + 1); /* the server hands bodies NUL-terminated */
	if (body == NULL)
		return 0;
	memcpy(body, data, size);
	body[size] = '\0';
	for (int require_state = 0; require_state < 2; require_state++) {
		bool pact = false, again = false;
		int rc = cairn_manage_parse_create(&pact, body, size, require_state);
		check_answer(rc);
		if (cairn_manage_parse_create(&again, body, size, require_state) != rc || (rc == CAIRN_OK && pact != again))
			abort();
	}
	int rc = cairn_manage_parse_stop_patch(body, size);
	check_answer(rc);
	if (cairn_manage_parse_stop_patch(body, size) != rc)
		abort();
	free(body);
	return 0;
}
