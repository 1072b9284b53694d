/*
 * test_status.c - the last-error message: a failure may wrap the message of the failure
 * it reports, as the spec parser does with a layer's own complaint.
 */
#include "test.h"

#include <string.h>

DG_TEST(status_fail_wraps_last_error)
{
    CHECK(dg_fail(DG_ERR_FORMAT, "inner %d", 7) == DG_ERR_FORMAT);
    CHECK(dg_fail(DG_ERR_ARG, "outer: %s", dg_last_error()) == DG_ERR_ARG);
    CHECK_MSG(!strcmp(dg_last_error(), "outer: inner 7"), "message \"%s\"", dg_last_error());
}

DG_TEST(status_spec_layer_message_kept)
{
    dg_shape input = {1, 28, 28};
    dg_net *net = NULL;
    CHECK_STATUS(dg_net_new("flatten, dropout 1, dense 10", input, &net), DG_ERR_ARG);
    CHECK(net == NULL);
    CHECK_MSG(!strcmp(dg_last_error(), "spec: layer 2: dropout: rate 1 (want 0 <= rate < 1)"),
              "message \"%s\"", dg_last_error());
}
