# platform.mk - what the compiler builds for, decided in one place for every Makefile of Parrot
# that needs to know: the top level, final/, tests/ and tools/bench. GNU make 3.81 or later.
#
#     include ../mk/platform.mk          (after CC is set; the path from the includer)
#
# Everything is read from $(CC), never from the machine make runs on: a cross compiler decides
# for the system it builds for (tools/check-macos builds every program for macOS on Linux with
# zig cc). It sets:
#
#   TARGET_OS        Linux, Darwin, FreeBSD, OpenBSD, NetBSD or DragonFly, from the compiler's
#                    predefined macros (__linux__, __APPLE__, ...); unknown if none of them
#   KQUEUE_LAYER     yes where $(CC) has no <sys/event.h>, so that kqueue comes from
#                    tools/kqueue-linux; no where the system has its own. The probe is
#                    kqueue.mk's, included from here, which also sets KQUEUE_CFLAGS, KQUEUE_SRCS,
#                    KQUEUE_DEPS and KQUEUE_LDFLAGS. (The workshop steps include kqueue.mk
#                    directly: each step's directory builds on its own.)
#   NATIVE_BACKEND   the event loop built when none is named (final/'s BACKEND, parrot-bench):
#                    epoll on Linux, kqueue elsewhere
#   BACKENDS         every backend built and tested here, the native one first: on Linux also
#                    kqueue, through tools/kqueue-linux, so that the code a Mac or a BSD
#                    compiles is compiled and tested here too
#
# `make ... KQUEUE_LAYER=yes|no` forces the layer's choice, as in kqueue.mk.

# The repository's top directory, relative to the includer: the directory above this file's.
PLATFORM_ROOT := $(patsubst %/,%,$(dir $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))))

TARGET_OS := $(firstword $(shell $(CC) -dM -E -x c /dev/null 2>/dev/null | awk ' \
    $$2 == "__linux__" { print "Linux" } $$2 == "__APPLE__" { print "Darwin" } \
    $$2 == "__FreeBSD__" { print "FreeBSD" } $$2 == "__OpenBSD__" { print "OpenBSD" } \
    $$2 == "__NetBSD__" { print "NetBSD" } $$2 == "__DragonFly__" { print "DragonFly" }') unknown)

KQUEUE_LINUX := $(PLATFORM_ROOT)/tools/kqueue-linux
include $(KQUEUE_LINUX)/kqueue.mk

ifeq ($(TARGET_OS),Linux)
NATIVE_BACKEND := epoll
BACKENDS := epoll kqueue
else
NATIVE_BACKEND := kqueue
BACKENDS := kqueue
endif
