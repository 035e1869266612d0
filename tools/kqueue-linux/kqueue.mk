# kqueue.mk - use the real kqueue where the system has one, the Linux layer otherwise.
#
# Include it from any Makefile (GNU make 3.81 or later):
#
#     KQUEUE_LINUX := ../../tools/kqueue-linux
#     include $(KQUEUE_LINUX)/kqueue.mk
#     prog: main.c $(KQUEUE_DEPS)
#             $(CC) $(CFLAGS) $(KQUEUE_CFLAGS) -o $@ main.c $(KQUEUE_SRCS) $(LDFLAGS) $(KQUEUE_LDFLAGS)
#
# If $(CC) preprocesses <sys/event.h> (macOS, the BSDs, a cross compiler for them) every
# KQUEUE_* variable is empty and the program uses the kernel's kqueue. Otherwise they point at
# this directory. KQUEUE_LAYER=yes or KQUEUE_LAYER=no on the command line forces the choice.
#
# KQUEUE_TRACE := yes, set before the include, adds the kqueue microscope of
# tools/kqueue-trace/ to the same variables: the program then prints every change it sends to
# kevent() and every event it gets back when PARROT_TRACE=1 is in its environment, and costs
# one comparison per kevent() call when it is not. Its README says more.
#
# In Parrot, the workshop steps include this file; every other Makefile includes mk/platform.mk,
# which includes it.

# Where this file lives, when the includer did not say.
KQUEUE_LINUX ?= $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))

ifeq ($(KQUEUE_LAYER),)
KQUEUE_NATIVE_ := $(shell printf '\043include <sys/event.h>\n' | $(CC) -E -x c - >/dev/null 2>&1 && echo yes)
ifeq ($(KQUEUE_NATIVE_),yes)
KQUEUE_LAYER := no
else
KQUEUE_LAYER := yes
endif
endif

ifeq ($(KQUEUE_LAYER),yes)
KQUEUE_CFLAGS := -I$(KQUEUE_LINUX)/include
KQUEUE_SRCS := $(KQUEUE_LINUX)/kqueue.c
KQUEUE_DEPS := $(KQUEUE_LINUX)/include/sys/event.h $(KQUEUE_LINUX)/kqueue.c $(KQUEUE_LINUX)/kqueue.mk
# The layer sees close() so that closing a descriptor drops its registrations (as on BSD), and
# sees signal dispositions so that EVFILT_SIGNAL counts signals the program ignores. See README.md.
KQUEUE_LDFLAGS := -Wl,--wrap=close -Wl,--wrap=sigaction -Wl,--wrap=signal -Wl,--wrap=__sysv_signal
else
KQUEUE_CFLAGS :=
KQUEUE_SRCS :=
KQUEUE_DEPS :=
KQUEUE_LDFLAGS :=
endif

# The microscope, for the kernel's kqueue and the layer alike. $(dir ...) of
# ../../tools/kqueue-linux is ../../tools/: the two directories are neighbours.
ifeq ($(strip $(KQUEUE_TRACE)),yes)
include $(dir $(KQUEUE_LINUX))kqueue-trace/trace.mk
endif
