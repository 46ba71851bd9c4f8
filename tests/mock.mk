# Unit tests against a fake ZooKeeper (tests/mock_zk.c). The library's calls
# into the C client are redirected to the fake with -Wl,--wrap, which works
# because libzklock-test.la is a static convenience library. No server is
# needed; it sits with the integration tests only for ordering.
MOCK_ZK_WRAP = \
	-Wl,--wrap=zookeeper_init2 -Wl,--wrap=zookeeper_close \
	-Wl,--wrap=zoo_client_id -Wl,--wrap=zoo_add_auth \
	-Wl,--wrap=zoo_acreate2 -Wl,--wrap=zoo_aget_children \
	-Wl,--wrap=zoo_aget -Wl,--wrap=zoo_adelete -Wl,--wrap=zoo_aset \
	-Wl,--wrap=zoo_amulti -Wl,--wrap=zoo_async -Wl,--wrap=zoo_state \
	-Wl,--wrap=zoo_set_servers_resolution_delay -Wl,--wrap=zoo_get_context \
	$(MOCK_ZK_UNSUPPORTED)
# Calls the fake refuses loudly (abort with the name) instead of letting the
# real client crash on the fake handle.
MOCK_ZK_UNSUPPORTED = \
	-Wl,--wrap=zoo_acreate -Wl,--wrap=zoo_aexists -Wl,--wrap=zoo_awexists \
	-Wl,--wrap=zoo_awget -Wl,--wrap=zoo_aget_children2 \
	-Wl,--wrap=zoo_awget_children -Wl,--wrap=zoo_awget_children2 \
	-Wl,--wrap=zoo_create -Wl,--wrap=zoo_create2 -Wl,--wrap=zoo_delete \
	-Wl,--wrap=zoo_exists -Wl,--wrap=zoo_get -Wl,--wrap=zoo_get_children \
	-Wl,--wrap=zoo_set -Wl,--wrap=zoo_multi

check_PROGRAMS += tests/test_mock
tests_test_mock_SOURCES = tests/test_mock.c tests/mock_zk.c tests/mock_zk.h
tests_test_mock_CFLAGS = $(TEST_CFLAGS)
tests_test_mock_LDFLAGS = $(AM_LDFLAGS) $(MOCK_ZK_WRAP)
tests_test_mock_LDADD = $(TEST_LIBS)

EXTRA_INTEGRATION_TESTS += tests/test_mock

# The asynchronous calls under the same faults (issue 13).
check_PROGRAMS += tests/test_mock_async
tests_test_mock_async_SOURCES = tests/test_mock_async.c tests/mock_zk.c \
	tests/mock_zk.h
tests_test_mock_async_CFLAGS = $(TEST_CFLAGS)
tests_test_mock_async_LDFLAGS = $(AM_LDFLAGS) $(MOCK_ZK_WRAP)
tests_test_mock_async_LDADD = $(TEST_LIBS)

EXTRA_INTEGRATION_TESTS += tests/test_mock_async
