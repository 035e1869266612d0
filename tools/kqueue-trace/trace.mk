# trace.mk - the kqueue microscope (see README.md here): PARROT_TRACE=1 in the environment makes
# the program print every change it sends to kevent() and every event it gets back, on stderr.
#
# Not included directly: a Makefile that uses tools/kqueue-linux/kqueue.mk opts in by setting
# KQUEUE_TRACE before including it, and kqueue.mk includes this file:
#
#     KQUEUE_TRACE := yes
#     KQUEUE_LINUX := ../../tools/kqueue-linux
#     include $(KQUEUE_LINUX)/kqueue.mk
#
# It adds to what kqueue.mk set, so the program's usual compile line picks it up:
#   KQUEUE_CFLAGS  -include kqtrace.h: the compiler reads it before every source file, and it
#                  renames the program's kevent() calls to kqtrace_kevent()
#   KQUEUE_SRCS    kqtrace.c: kqtrace_kevent(), which prints and calls the real kevent()
#   KQUEUE_DEPS    both files and this one, so that a change to them rebuilds the program

# Where this file lives: the includer's path to it, without the trailing slash.
KQUEUE_TRACE_DIR := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))

KQUEUE_CFLAGS += -include $(KQUEUE_TRACE_DIR)/kqtrace.h
KQUEUE_SRCS += $(KQUEUE_TRACE_DIR)/kqtrace.c
KQUEUE_DEPS += $(KQUEUE_TRACE_DIR)/kqtrace.h $(KQUEUE_TRACE_DIR)/kqtrace.c $(KQUEUE_TRACE_DIR)/trace.mk
