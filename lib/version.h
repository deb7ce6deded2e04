/* SPDX-License-Identifier: MIT */
#ifndef BMS_VERSION_H
#define BMS_VERSION_H
#ifndef BMS_VERSION
#define BMS_VERSION "0.1.0"
#endif
#endif
