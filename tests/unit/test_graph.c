/* Unit tests for chain/graph and chain/version: the static tables are
 * well-formed and the lookups follow chainweb-format.md sections 8 and 9. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "chain/graph.h"
#include "chain/version.h"

static void check_graph_well_formed(const cairn_graph *g)
{
	for (uint32_t c = 0; c < g->order; c++) {
		const uint8_t *adj = cairn_graph_adjacents(g, c);
		for (uint32_t i = 0; i < g->degree; i++) {
			assert_true(adj[i] < g->order);
			assert_int_not_equal(adj[i], c);
			if (i > 0)
				assert_true(adj[i - 1] < adj[i]);
			assert_true(cairn_graph_are_adjacent(g, adj[i], c));
		}
	}
}

static void test_graphs_are_symmetric_and_sorted(void **state)
{
	(void)state;
	check_graph_well_formed(&cairn_graph_singleton);
	check_graph_well_formed(&cairn_graph_pair);
	check_graph_well_formed(&cairn_graph_triangle);
	check_graph_well_formed(&cairn_graph_petersen);
	check_graph_well_formed(&cairn_graph_twenty);
}

static void test_twenty_matches_chainweb_numbering(void **state)
{
	(void)state;
	const uint8_t *a = cairn_graph_adjacents(&cairn_graph_twenty, 19);
	assert_int_equal(a[0], 4);
	assert_int_equal(a[1], 10);
	assert_int_equal(a[2], 18);
	assert_true(cairn_graph_are_adjacent(&cairn_graph_petersen, 6, 1));
	assert_false(cairn_graph_are_adjacent(&cairn_graph_petersen, 6, 2));
	assert_ptr_equal(cairn_graph_by_name("twenty"), &cairn_graph_twenty);
	assert_null(cairn_graph_by_name("hexagon"));
}

static void test_mainnet_graph_history(void **state)
{
	(void)state;
	const cairn_version *v = cairn_version_by_name("mainnet01");
	assert_non_null(v);
	assert_int_equal(v->code, 5);
	assert_ptr_equal(cairn_version_graph_at(v, 852053), &cairn_graph_petersen);
	assert_ptr_equal(cairn_version_graph_at(v, 852054), &cairn_graph_twenty);
	uint64_t h;
	assert_int_equal(cairn_version_genesis_height(&h, v, 9), 0);
	assert_int_equal(h, 0);
	assert_int_equal(cairn_version_genesis_height(&h, v, 10), 0);
	assert_int_equal(h, 852054);
	assert_int_not_equal(cairn_version_genesis_height(&h, v, 20), 0);
	assert_ptr_equal(cairn_version_by_code(5), v);
	assert_null(cairn_version_by_name("mainnet02"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_graphs_are_symmetric_and_sorted),
		cmocka_unit_test(test_twenty_matches_chainweb_numbering),
		cmocka_unit_test(test_mainnet_graph_history),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
