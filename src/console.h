/* SPDX-License-Identifier: MIT */
/*
 * console.h: the admin console's data source: connects admin.c's SHOW commands to
 * the live pools, clients and servers, and its control commands to the daemon.
 * PAUSE returns at once (servers in use finish their work; nothing new is handed out).
 */
#ifndef LG_CONSOLE_H
#define LG_CONSOLE_H

#include "admin.h"

struct config;

/* What only main can do. */
struct console_hooks {
    void (*shutdown)(void);            /* after this turn */
    int (*reload)(struct lg_err *err); /* re-read the ini */
    int (*set)(const char *key, const char *value, struct lg_err *err);
};

void console_init(const struct config *cfg, const struct console_hooks *hooks);
/* The configuration in force changed (RELOAD, SET). */
void console_set_config(const struct config *cfg);
const struct admin_source *console_source(void);
/* DISABLE'd on the console (until ENABLE): new client logins to @db are refused. */
bool console_db_disabled(const char *db);
void console_free(void);

#endif
