/*
 * info.c: GET /info, the NodeInfo object (chainweb-format.md section 10.5).
 *
 * Fields, in chainweb-node's order: nodeVersion, nodePackageVersion,
 * nodeApiVersion, nodeChains, nodeNumberOfChains, nodeGraphHistory,
 * nodeLatestBehaviorHeight, nodeGenesisHeights, nodeHistoricalChains,
 * nodeBlockDelay.  Graphs are adjacency lists [[chain, [neighbours]], ...]
 * sorted by chain id, and histories run from the newest graph to the
 * oldest.  nodeChains is the graph at the current cut, so a mainnet01 node
 * below height 852054 reports ten chains, as chainweb-node does.
 *
 * The object is built per request from static version data and the node's
 * current graph; it is small (a few kilobytes) and rarely requested.
 */
#include "api/api.h"

#include <json-c/json.h>
#include <stdio.h>

static json_object *pair(json_object *first, json_object *second)
{
	json_object *array = json_object_new_array();
	json_object_array_add(array, first);
	json_object_array_add(array, second);
	return array;
}

static json_object *chain_name(uint32_t chain)
{
	char text[16];
	snprintf(text, sizeof(text), "%u", chain);
	return json_object_new_string(text);
}

static json_object *adjacency_list(const cairn_graph *graph)
{
	json_object *list = json_object_new_array();
	for (uint32_t c = 0; c < graph->order; c++) {
		json_object *neighbours = json_object_new_array();
		for (uint32_t i = 0; i < graph->degree; i++)
			json_object_array_add(neighbours, json_object_new_int(cairn_graph_adjacents(graph, c)[i]));
		json_object_array_add(list, pair(json_object_new_int((int32_t)c), neighbours));
	}
	return list;
}

static json_object *graph_history(const cairn_version *version)
{
	json_object *history = json_object_new_array();
	for (size_t i = version->graph_history_len; i-- > 0;) {
		const cairn_graph_epoch *epoch = &version->graph_history[i];
		json_object_array_add(history,
			pair(json_object_new_uint64(epoch->height), adjacency_list(epoch->graph)));
	}
	return history;
}

static json_object *chain_names(const cairn_graph *graph)
{
	json_object *names = json_object_new_array();
	for (uint32_t c = 0; c < graph->order; c++)
		json_object_array_add(names, chain_name(c));
	return names;
}

static json_object *genesis_heights(const cairn_version *version)
{
	const cairn_graph *all = cairn_version_latest_graph(version);
	json_object *heights = json_object_new_array();
	for (uint32_t c = 0; c < all->order; c++) {
		uint64_t height = 0;
		cairn_version_genesis_height(&height, version, c);
		json_object_array_add(heights, pair(chain_name(c), json_object_new_uint64(height)));
	}
	return heights;
}

static void node_info(cairn_http_response *res, const cairn_http_request *req, void *ctx)
{
	(void)req;
	const cairn_node *node = ctx;
	const cairn_version *version = cairn_node_version(node);
	const cairn_graph *current = cairn_node_current_graph(node);
	json_object *info = json_object_new_object();
	json_object_object_add(info, "nodeVersion", json_object_new_string(version->name));
	json_object_object_add(info, "nodePackageVersion", json_object_new_string(CAIRN_VERSION));
	json_object_object_add(info, "nodeApiVersion", json_object_new_string("0.0"));
	json_object_object_add(info, "nodeChains", chain_names(current));
	json_object_object_add(info, "nodeNumberOfChains", json_object_new_int((int32_t)current->order));
	json_object_object_add(info, "nodeGraphHistory", graph_history(version));
	json_object_object_add(info, "nodeLatestBehaviorHeight", json_object_new_uint64(version->latest_behavior_height));
	json_object_object_add(info, "nodeGenesisHeights", genesis_heights(version));
	json_object_object_add(info, "nodeHistoricalChains", graph_history(version));
	json_object_object_add(info, "nodeBlockDelay", json_object_new_int64(version->block_delay_us));
	cairn_api_respond_json(res, 200, info);
}

int cairn_api_info_register(cairn_http_router *router, cairn_node *node)
{
	return cairn_http_router_add(router, CAIRN_HTTP_GET, "/info", node_info, node);
}
