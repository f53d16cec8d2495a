"""The embedded demo city: a deterministic mountain city modelled on Chongqing's centre.

Two rivers meet at the tip of a hilly peninsula; streets with stairways climb between levels
and a few bridges cross the water; four administrative levels sit on a 100 m unit grid;
residents live in buildings, facilities of every living-circle category serve them (with gaps
left on purpose), and water and gas networks run under the streets. The same seed gives the
same files, bit for bit.

Examples
--------
>>> city = generate_demo_city(DemoConfig.small())
>>> int(city.buildings["population"].sum()) == DemoConfig.small().target_population
True
"""

from __future__ import annotations

from shancheng.data.demo.build import generate_demo_city, write_demo_city
from shancheng.data.demo.config import DemoConfig
from shancheng.data.demo.facilities import CATEGORY_IDS
from shancheng.data.demo.terrain import Terrain, terrain_height_m

__all__ = [
    "CATEGORY_IDS",
    "DemoConfig",
    "Terrain",
    "generate_demo_city",
    "terrain_height_m",
    "write_demo_city",
]
