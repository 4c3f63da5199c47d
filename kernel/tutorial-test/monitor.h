/* monitor.h: the tutorial's monitor interface, written to the serial port (COM1). */
#ifndef MONITOR_H
#define MONITOR_H

#include "common.h"

void monitor_put(char c);
void monitor_clear(void);
void monitor_write(char *c);
void monitor_write_hex(u32int n);
void monitor_write_dec(u32int n);

#endif
