# Unit tests against a fake ZooKeeper (tests/mock_zk.c). The library's calls
# into the C client are redirected to the fake with -Wl,--wrap, which works
# because libzklock-test.la is a static convenience library. No server is
# needed; it sits with the integration tests only for ordering.
MOCK_ZK_WRAP = \
	-Wl,--wrap=zookeeper_init2 -Wl,--wrap=zookeeper_close \
	-Wl,--wrap=zoo_client_id -Wl,--wrap=zoo_add_auth \
	-Wl,--wrap=zoo_acreate2 -Wl,--wrap=zoo_aget_children \
	-Wl,--wrap=zoo_aget -Wl,--wrap=zoo_adelete -Wl,--wrap=zoo_aset \
	-Wl,--wrap=zoo_amulti

check_PROGRAMS += tests/test_mock
tests_test_mock_SOURCES = tests/test_mock.c tests/mock_zk.c tests/mock_zk.h
tests_test_mock_CFLAGS = $(TEST_CFLAGS)
tests_test_mock_LDFLAGS = $(AM_LDFLAGS) $(MOCK_ZK_WRAP)
tests_test_mock_LDADD = $(TEST_LIBS)

EXTRA_INTEGRATION_TESTS += tests/test_mock
