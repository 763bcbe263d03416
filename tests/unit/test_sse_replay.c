/* SSE event ids and the bounded replay buffer (src/transport/sse_replay.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "transport/sse_replay.h"

static void add_event(sse_replay *r, uint64_t seq, size_t pad) {
    char text[64];
    int n = snprintf(text, sizeof text, "id: r1-%llu\ndata: %zu\n\n", (unsigned long long)seq, pad);
    assert_int_equal(sse_replay_add(r, seq, text, (size_t)n), 0);
}

static void test_ids_round_trip_and_reject_garbage(void **state) {
    (void)state;
    char id[SSE_EVENT_ID_MAX];
    sse_event_id_format(id, sizeof id, SSE_KIND_REQUEST, 12, 0);
    assert_string_equal(id, "r12-0");
    char kind;
    uint64_t stream, seq;
    assert_int_equal(sse_event_id_parse(id, &kind, &stream, &seq), 0);
    assert_int_equal(kind, 'r');
    assert_int_equal(stream, 12);
    assert_int_equal(seq, 0);
    sse_event_id_format(id, sizeof id, SSE_KIND_GET, UINT64_MAX, UINT64_MAX);
    assert_int_equal(sse_event_id_parse(id, &kind, &stream, &seq), 0);
    assert_int_equal(kind, 'g');
    assert_true(stream == UINT64_MAX && seq == UINT64_MAX);
    static const char *const bad[] = {"", "r", "r1", "r1-", "x1-2", "r-2", "r01-2", "r1-2x", "r1--2", "r+1-2",
                                      "r18446744073709551616-0", "1-2", "r1-2-3"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(sse_event_id_parse(bad[i], &kind, &stream, &seq), -EINVAL);
}

static void test_since_returns_only_later_events_in_order(void **state) {
    (void)state;
    sse_replay r;
    sse_replay_init(&r);
    for (uint64_t s = 1; s <= 3; s++)
        add_event(&r, s, 0);
    buf out;
    buf_init(&out, 4096);
    assert_int_equal(sse_replay_since(&r, 1, &out), 0);
    assert_string_equal(out.data, "id: r1-2\ndata: 0\n\nid: r1-3\ndata: 0\n\n");
    buf_reset(&out);
    assert_int_equal(sse_replay_since(&r, 3, &out), 0);
    assert_int_equal(out.len, 0);
    buf_free(&out);
    sse_replay_clear(&r);
}

static void test_bounded_by_count_newest_kept(void **state) {
    (void)state;
    sse_replay r;
    sse_replay_init(&r);
    for (uint64_t s = 1; s <= SSE_REPLAY_MAX_EVENTS + 10; s++)
        add_event(&r, s, 0);
    assert_int_equal(r.count, SSE_REPLAY_MAX_EVENTS);
    assert_int_equal(r.head->seq, 11);
    buf out;
    buf_init(&out, (size_t)1 << 20);
    /* Asking for events that were evicted says so, after handing over what is left. */
    assert_int_equal(sse_replay_since(&r, 0, &out), -ERANGE);
    assert_non_null(strstr(out.data, "id: r1-74\n"));
    buf_reset(&out);
    assert_int_equal(sse_replay_since(&r, 10, &out), 0);
    buf_free(&out);
    sse_replay_clear(&r);
}

static void test_bounded_by_bytes_but_one_large_event_stays(void **state) {
    (void)state;
    sse_replay r;
    sse_replay_init(&r);
    static char big[SSE_REPLAY_MAX_BYTES + 100];
    memset(big, 'x', sizeof big);
    add_event(&r, 1, 0);
    assert_int_equal(sse_replay_add(&r, 2, big, sizeof big), 0);
    assert_int_equal(r.count, 1);
    assert_int_equal(r.head->seq, 2);
    add_event(&r, 3, 0);
    assert_int_equal(r.count, 1);
    assert_int_equal(r.head->seq, 3);
    assert_true(r.bytes <= SSE_REPLAY_MAX_BYTES);
    sse_replay moved;
    sse_replay_move(&moved, &r);
    assert_int_equal(r.count, 0);
    assert_null(r.head);
    assert_int_equal(moved.count, 1);
    sse_replay_clear(&moved);
    sse_replay_clear(&r);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ids_round_trip_and_reject_garbage),
        cmocka_unit_test(test_since_returns_only_later_events_in_order),
        cmocka_unit_test(test_bounded_by_count_newest_kept),
        cmocka_unit_test(test_bounded_by_bytes_but_one_large_event_stays),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
