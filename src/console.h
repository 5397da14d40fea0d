/* SPDX-License-Identifier: MIT */
/*
 * console.h: the admin console's data source: connects admin.c's SHOW commands to
 * the live pools, clients and servers, and its control commands to the daemon.
 * PAUSE/RESUME/RECONNECT/KILL/RELOAD/SET are answered 0A000 until they are built.
 */
#ifndef LG_CONSOLE_H
#define LG_CONSOLE_H

#include "admin.h"

struct config;

/* @shutdown is called (later in the same turn is fine) for SHUTDOWN. */
void console_init(const struct config *cfg, void (*shutdown)(void));
const struct admin_source *console_source(void);

#endif
