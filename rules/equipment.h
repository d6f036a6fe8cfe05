/* equipment.h: placeholder, being written. */
#ifndef LABQCD_EQUIPMENT_H
#define LABQCD_EQUIPMENT_H
#endif
