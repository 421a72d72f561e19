/* Unit tests for http/router and the decoding in http/message: pattern
 * matching, both path forms, the version prefix, 405 with Allow, and the
 * rejection of malformed targets. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "http/router.h"

static void handler_a(cairn_http_response *res, const cairn_http_request *req, void *ctx)
{
	(void)res;
	(void)req;
	(void)ctx;
}

static void handler_b(cairn_http_response *res, const cairn_http_request *req, void *ctx)
{
	(void)res;
	(void)req;
	(void)ctx;
}

static int ctx_a, ctx_b;

static int setup(void **state)
{
	cairn_http_router *r;
	assert_int_equal(cairn_http_router_create(&r, "development"), CAIRN_OK);
	assert_int_equal(cairn_http_router_add(r, CAIRN_HTTP_GET, "/health-check", handler_a, &ctx_a), CAIRN_OK);
	assert_int_equal(cairn_http_router_add(r, CAIRN_HTTP_GET, "/check-backup/{id}", handler_b, &ctx_b), CAIRN_OK);
	assert_int_equal(cairn_http_router_add(r, CAIRN_HTTP_POST, "/make-backup", handler_a, &ctx_a), CAIRN_OK);
	assert_int_equal(cairn_http_router_add(r, CAIRN_HTTP_GET, "/chain/{chain}/header/{hash}", handler_b, &ctx_b), CAIRN_OK);
	*state = r;
	return 0;
}

static int teardown(void **state)
{
	cairn_http_router_free(*state);
	return 0;
}

static cairn_http_route_result match(cairn_http_route_match *m, void **state, cairn_http_method method, const char *path)
{
	static char scratch[512];
	return cairn_http_router_match(m, *state, method, path, scratch, sizeof(scratch));
}

static void test_root_and_prefixed_paths_match(void **state)
{
	cairn_http_route_match m;
	assert_int_equal(match(&m, state, CAIRN_HTTP_GET, "/health-check"), CAIRN_HTTP_ROUTE_FOUND);
	assert_ptr_equal(m.handler, handler_a);
	assert_ptr_equal(m.ctx, &ctx_a);
	assert_int_equal(match(&m, state, CAIRN_HTTP_GET, "/chainweb/0.0/development/health-check"), CAIRN_HTTP_ROUTE_FOUND);
	assert_ptr_equal(m.handler, handler_a);
	assert_int_equal(match(&m, state, CAIRN_HTTP_POST, "/chainweb/0.0/development/make-backup"), CAIRN_HTTP_ROUTE_FOUND);
}

static void test_other_version_or_malformed_prefix_is_not_found(void **state)
{
	cairn_http_route_match m;
	static const char *const paths[] = {
		"/chainweb/0.0/mainnet01/health-check", "/chainweb/0.1/development/health-check",
		"/chainweb/0.0/development", "/chainweb/0.0/development/", "/chainweb/development/health-check",
		"/chainweb", "/", "/health-check/", "//health-check", "/health-checks", "/HEALTH-CHECK",
		"/check-backup", "/check-backup/1/2",
	};
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		assert_int_equal(match(&m, state, CAIRN_HTTP_GET, paths[i]), CAIRN_HTTP_ROUTE_NOT_FOUND);
}

static void test_parameters_are_decoded_per_segment(void **state)
{
	cairn_http_route_match m;
	assert_int_equal(match(&m, state, CAIRN_HTTP_GET, "/check-backup/1648665437000"), CAIRN_HTTP_ROUTE_FOUND);
	assert_int_equal(m.param_count, 1);
	assert_string_equal(m.params[0].name, "id");
	assert_string_equal(m.params[0].value, "1648665437000");

	assert_int_equal(match(&m, state, CAIRN_HTTP_GET, "/chainweb/0.0/development/chain/7/header/a%2Fb%20c"),
		CAIRN_HTTP_ROUTE_FOUND);
	assert_int_equal(m.param_count, 2);
	assert_string_equal(m.params[0].name, "chain");
	assert_string_equal(m.params[0].value, "7");
	assert_string_equal(m.params[1].name, "hash");
	assert_string_equal(m.params[1].value, "a/b c");

	/* Literal segments compare decoded. */
	assert_int_equal(match(&m, state, CAIRN_HTTP_GET, "/health%2Dcheck"), CAIRN_HTTP_ROUTE_FOUND);
}

static void test_wrong_method_lists_allowed_ones(void **state)
{
	cairn_http_route_match m;
	assert_int_equal(match(&m, state, CAIRN_HTTP_POST, "/health-check"), CAIRN_HTTP_ROUTE_METHOD_NOT_ALLOWED);
	assert_string_equal(m.allow, "GET, HEAD");
	assert_int_equal(match(&m, state, CAIRN_HTTP_GET, "/make-backup"), CAIRN_HTTP_ROUTE_METHOD_NOT_ALLOWED);
	assert_string_equal(m.allow, "POST");
	assert_int_equal(match(&m, state, CAIRN_HTTP_OTHER, "/make-backup"), CAIRN_HTTP_ROUTE_METHOD_NOT_ALLOWED);
}

static void test_head_is_served_by_get(void **state)
{
	cairn_http_route_match m;
	assert_int_equal(match(&m, state, CAIRN_HTTP_HEAD, "/health-check"), CAIRN_HTTP_ROUTE_FOUND);
	assert_ptr_equal(m.handler, handler_a);
	assert_int_equal(match(&m, state, CAIRN_HTTP_HEAD, "/make-backup"), CAIRN_HTTP_ROUTE_METHOD_NOT_ALLOWED);
}

static void test_malformed_targets_are_bad_requests(void **state)
{
	cairn_http_route_match m;
	static const char *const paths[] = {
		"health-check", "*", "http://host/health-check", "/health-check%", "/health-check%2",
		"/health-check%zz", "/check-backup/%00", "/check-backup/a b", "/check-backup/\x7f",
		"/check-backup/\xc3\xa9",
	};
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		assert_int_equal(match(&m, state, CAIRN_HTTP_GET, paths[i]), CAIRN_HTTP_ROUTE_BAD_REQUEST);
}

static void test_scratch_too_small_is_too_long(void **state)
{
	cairn_http_route_match m;
	char scratch[8];
	assert_int_equal(cairn_http_router_match(&m, *state, CAIRN_HTTP_GET, "/health-check", scratch, sizeof(scratch)),
		CAIRN_HTTP_ROUTE_TOO_LONG);
	char deep[128] = "";
	for (int i = 0; i < 20; i++)
		strcat(deep, "/a");
	assert_int_equal(match(&m, state, CAIRN_HTTP_GET, deep), CAIRN_HTTP_ROUTE_NOT_FOUND);
}

static void test_registration_errors(void **state)
{
	cairn_http_router *r = *state;
	assert_int_equal(cairn_http_router_add(r, CAIRN_HTTP_GET, "/health-check", handler_b, NULL), CAIRN_EEXISTS);
	assert_int_equal(cairn_http_router_add(r, CAIRN_HTTP_GET, "no-slash", handler_b, NULL), CAIRN_EINVALID);
	assert_int_equal(cairn_http_router_add(r, CAIRN_HTTP_GET, "/a//b", handler_b, NULL), CAIRN_EINVALID);
	assert_int_equal(cairn_http_router_add(r, CAIRN_HTTP_GET, "/{a}/{b}/{c}/{d}/{e}", handler_b, NULL), CAIRN_EINVALID);
	assert_int_equal(cairn_http_router_add(r, CAIRN_HTTP_OTHER, "/x", handler_b, NULL), CAIRN_EINVALID);
	/* A second method on an existing pattern extends its Allow list. */
	assert_int_equal(cairn_http_router_add(r, CAIRN_HTTP_DELETE, "/make-backup", handler_b, NULL), CAIRN_OK);
	cairn_http_route_match m;
	assert_int_equal(match(&m, state, CAIRN_HTTP_PUT, "/make-backup"), CAIRN_HTTP_ROUTE_METHOD_NOT_ALLOWED);
	assert_string_equal(m.allow, "POST, DELETE");
}

static void test_query_and_params_lookup(void **state)
{
	(void)state;
	cairn_http_request req = {.param_count = 1, .query_count = 2};
	req.params[0] = (cairn_http_pair){"id", "42"};
	req.query[0] = (cairn_http_pair){"backupPact", NULL};
	req.query[1] = (cairn_http_pair){"empty", ""};
	const char *v = "unset";
	assert_string_equal(cairn_http_request_param(&req, "id"), "42");
	assert_null(cairn_http_request_param(&req, "other"));
	assert_true(cairn_http_request_query(&v, &req, "backupPact"));
	assert_null(v);
	assert_true(cairn_http_request_query(&v, &req, "empty"));
	assert_string_equal(v, "");
	assert_false(cairn_http_request_query(&v, &req, "absent"));
}

static void test_decode_component(void **state)
{
	(void)state;
	char out[32];
	size_t n;
	assert_int_equal(cairn_http_decode_component(out, &n, "a%41%2fz", 8, false), CAIRN_OK);
	assert_string_equal(out, "aA/z");
	assert_int_equal(n, 4);
	assert_int_equal(cairn_http_decode_component(out, &n, "a b", 3, false), CAIRN_EINVALID);
	assert_int_equal(cairn_http_decode_component(out, &n, "a b", 3, true), CAIRN_OK);
	assert_string_equal(out, "a b");
	assert_int_equal(cairn_http_decode_component(out, &n, "%4", 2, true), CAIRN_EINVALID);
	assert_int_equal(cairn_http_decode_component(out, &n, "%g0", 3, true), CAIRN_EINVALID);
	assert_int_equal(cairn_http_decode_component(out, &n, "%00", 3, true), CAIRN_EINVALID);
	assert_int_equal(cairn_http_decode_component(out, &n, "\t", 1, true), CAIRN_EINVALID);
}

static void test_method_names_round_trip(void **state)
{
	(void)state;
	for (int m = 0; m < CAIRN_HTTP_OTHER; m++)
		assert_int_equal(cairn_http_method_parse(cairn_http_method_name((cairn_http_method)m)), m);
	assert_int_equal(cairn_http_method_parse("get"), CAIRN_HTTP_OTHER);
	assert_int_equal(cairn_http_method_parse("BREW"), CAIRN_HTTP_OTHER);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_root_and_prefixed_paths_match, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_version_or_malformed_prefix_is_not_found, setup, teardown),
		cmocka_unit_test_setup_teardown(test_parameters_are_decoded_per_segment, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_method_lists_allowed_ones, setup, teardown),
		cmocka_unit_test_setup_teardown(test_head_is_served_by_get, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_targets_are_bad_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scratch_too_small_is_too_long, setup, teardown),
		cmocka_unit_test_setup_teardown(test_registration_errors, setup, teardown),
		cmocka_unit_test(test_query_and_params_lookup),
		cmocka_unit_test(test_decode_component),
		cmocka_unit_test(test_method_names_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
