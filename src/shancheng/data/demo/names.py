"""Fictional Chinese and English names for the demo city's units, chosen by index only."""

from __future__ import annotations

_DISTRICTS = (
    (("半岛区", "Bandao District"), ("西坪区", "Xiping District"), ("九坡区", "Jiupo District")),
    (
        ("北岸区", "Bei'an District"),
        ("江口区", "Jiangkou District"),
        ("北山区", "Beishan District"),
    ),
    (("南岸区", "Nan'an District"), ("南山区", "Nanshan District"), ("黄坡区", "Huangpo District")),
)
_STREET_ROOTS = (
    ("解放", "Jiefang"), ("朝天", "Chaotian"), ("石板", "Shiban"), ("黄桷", "Huangjue"),
    ("两路", "Lianglu"), ("菜园", "Caiyuan"), ("观音", "Guanyin"), ("龙门", "Longmen"),
    ("白象", "Baixiang"), ("金沙", "Jinsha"), ("鹅岭", "Eling"), ("大坪", "Daping"),
    ("化龙", "Hualong"), ("上清", "Shangqing"), ("洪崖", "Hongya"), ("望龙", "Wanglong"),
    ("石桥", "Shiqiao"), ("杨家", "Yangjia"), ("南坪", "Nanping"), ("弹子", "Danzi"),
)  # fmt: skip
_STREET_ENDINGS = (
    ("", ""),
    ("坡", "po"),
    ("湾", "wan"),
    ("坝", "ba"),
    ("桥", "qiao"),
    ("门", "men"),
)
_COMMUNITY_WORDS = (
    ("新村", "Xincun"), ("花园", "Huayuan"), ("东路", "Donglu"), ("西路", "Xilu"),
    ("南路", "Nanlu"), ("北路", "Beilu"), ("正街", "Zhengjie"), ("后街", "Houjie"),
    ("上街", "Shangjie"), ("下街", "Xiajie"), ("中街", "Zhongjie"), ("横街", "Hengjie"),
    ("山庄", "Shanzhuang"), ("台", "Tai"), ("苑", "Yuan"), ("巷", "Xiang"),
    ("嘴", "Zui"), ("场", "Chang"), ("湾", "Wan"), ("坪", "Ping"),
)  # fmt: skip


def district_name(region: int, index: int) -> tuple[str, str]:
    """Chinese and English name of the ``index``-th district of a region (0, 1 or 2)."""
    return _DISTRICTS[region][index]


def _street_root(street: int) -> tuple[str, str]:
    root = _STREET_ROOTS[street % len(_STREET_ROOTS)]
    ending = _STREET_ENDINGS[(street // len(_STREET_ROOTS)) % len(_STREET_ENDINGS)]
    return root[0] + ending[0], root[1] + ending[1]


def street_name(street: int) -> tuple[str, str]:
    """Chinese and English name of the ``street``-th street office."""
    zh, en = _street_root(street)
    return f"{zh}街道", f"{en} Street"


def community_name(street: int, community: int) -> tuple[str, str]:
    """Chinese and English name of the ``community``-th community (in ``street``)."""
    zh, en = _street_root(street)
    word = _COMMUNITY_WORDS[community % len(_COMMUNITY_WORDS)]
    serial = community // len(_COMMUNITY_WORDS)
    suffix = (str(serial + 1), f" {serial + 1}") if serial else ("", "")
    return f"{zh}{word[0]}{suffix[0]}社区", f"{en} {word[1]}{suffix[1]} Community"


_BRIDGES = (
    ("嘉陵江大桥", "Jialing River Bridge"), ("千厮门大桥", "Qiansimen Bridge"),
    ("黄花园大桥", "Huanghuayuan Bridge"), ("石板坡长江大桥", "Shibanpo Yangtze River Bridge"),
    ("菜园坝大桥", "Caiyuanba Bridge"), ("东水门大桥", "Dongshuimen Bridge"),
    ("朝天门大桥", "Chaotianmen Bridge"), ("鹅公岩大桥", "Egongyan Bridge"),
)  # fmt: skip
_HILLS = (
    ("南山", "Nanshan"), ("枇杷山", "Pipashan"), ("佛图关", "Fotuguan"), ("涂山", "Tushan"),
    ("铜锣山", "Tongluoshan"), ("歌乐山", "Geleshan"), ("缙云山", "Jinyunshan"),
    ("平顶山", "Pingdingshan"),
)  # fmt: skip


def road_name(index: int, *, avenue: bool) -> tuple[str, str]:
    """Chinese and English name of the ``index``-th named road (an east-west 路 or a 大道)."""
    root = _STREET_ROOTS[(len(_STREET_ROOTS) - 1 - 2 * index - avenue) % len(_STREET_ROOTS)]
    return (
        (f"{root[0]}大道", f"{root[1]} Avenue") if avenue else (f"{root[0]}路", f"{root[1]} Road")
    )


def bridge_name(index: int, *, cable_car: bool = False) -> tuple[str, str]:
    """Chinese and English name of the ``index``-th river crossing (the cable car its own)."""
    if cable_car:
        return "长江索道", "Yangtze River Cableway"
    zh, en = _BRIDGES[index % len(_BRIDGES)]
    serial = index // len(_BRIDGES)
    return (f"{zh}{serial + 1}", f"{en} {serial + 1}") if serial else (zh, en)


def hill_name(index: int) -> tuple[str, str]:
    """Chinese and English name of the ``index``-th wooded hill (largest first)."""
    zh, en = _HILLS[index % len(_HILLS)]
    serial = index // len(_HILLS)
    return (f"{zh}{serial + 1}", f"{en} {serial + 1}") if serial else (zh, en)
